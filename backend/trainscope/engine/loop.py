"""The training loop: one straight function, `train(spec, emit, should_stop)`.

Its whole world is `emit(event)` and `should_stop()` (DESIGN §2). It never touches the web, the
database or other processes; the jobs layer wraps it in a worker, the CLI in a progress bar.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainscope.data_layout import DEFAULT_CHECKPOINT_BUDGET, MODEL_NAME, has_checkpoint
from trainscope.engine.checkpoint import (
    CHECKPOINT_NAME,
    choose_checkpoint,
    keep_epoch_checkpoint,
    load_checkpoint,
    remove_partial_writes,
    save_checkpoint,
)
from trainscope.engine.datasets import DatasetSplits, load_dataset
from trainscope.engine.device import EngineError, describe_device, pick_device
from trainscope.engine.metrics import (
    batch_metric,
    confusion_matrix,
    evaluate,
    loss_fn,
    metric_name,
    prediction_pairs,
)
from trainscope.engine.models import build_model, count_parameters
from trainscope.engine.optim import clip_gradients, make_optimizer
from trainscope.engine.probes import ExplosionWatch, plan_for
from trainscope.engine.recorder import PointRecorder
from trainscope.engine.schedules import PlateauState, learn_rate_at
from trainscope.engine.update_ratios import UpdateRatios
from trainscope.schemas.events import (
    Artefact,
    CheckpointSaved,
    Event,
    FinishReason,
    Started,
    Status,
)
from trainscope.schemas.model import describe_layers, infer_shapes, resolve_layers
from trainscope.schemas.shapes import Task
from trainscope.schemas.spec import RunSpec


def _never() -> bool:
    return False


def _to_tensors(
    data: DatasetSplits, device: torch.device
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    # The whole dataset lives on the device: batches are index gathers, no loader, no copies.
    out = {"train": data.train, "test": data.test}
    if data.val is not None:
        out["val"] = data.val
    return {
        k: (torch.from_numpy(s.X).to(device), torch.from_numpy(s.y).to(device))
        for k, s in out.items()
    }


def train(
    spec: RunSpec,
    emit: Callable[[Event], None],
    should_stop: Callable[[], bool] = _never,
    *,
    data_dir: Path,
    run_dir: Path | None = None,
    resume: bool = False,
    data: DatasetSplits | None = None,
    persisted_seq: int | None = None,
    branch_from: Path | None = None,
    checkpoint_budget: int = DEFAULT_CHECKPOINT_BUDGET,
) -> Status:
    """Train `spec`, emitting a Started, a Point per iteration, Artefacts, then a final Status.

    `run_dir` receives `checkpoint.pt` (every epoch and on stop) and `model.pt` (at the end);
    `resume=True` continues from `run_dir/checkpoint.pt` and gives the same points as a run that
    was never interrupted (bit for bit on CPU). `data` lets a pre-warmed worker pass a dataset it
    already loaded. `persisted_seq` (the server's last stored seq) makes resume pick a
    checkpoint that leaves no gap (see checkpoint.choose_checkpoint). `branch_from`: an epoch
    checkpoint of another run (run_dir/checkpoints/epoch-E.pt) to continue from with this
    spec's options (a branch: docs/api.md). `checkpoint_budget`: bytes the epoch checkpoints
    may use (engine/retention.py). User errors (bad data,
    impossible model) end as status `failed` with a one-line message; anything else
    propagates to the caller.
    """
    try:
        return _train(
            spec,
            emit,
            should_stop,
            data_dir,
            run_dir,
            resume,
            data,
            persisted_seq,
            branch_from,
            checkpoint_budget,
        )
    except (EngineError, ValueError, FileNotFoundError) as exc:
        status = Status("failed", message=str(exc))
        emit(status)
        return status


def _train(
    spec: RunSpec,
    emit: Callable[[Event], None],
    should_stop: Callable[[], bool],
    data_dir: Path,
    run_dir: Path | None,
    resume: bool,
    data: DatasetSplits | None,
    persisted_seq: int | None,
    branch_from: Path | None = None,
    checkpoint_budget: int = DEFAULT_CHECKPOINT_BUDGET,
) -> Status:
    plan = plan_for(spec)
    opts = plan.options
    device = pick_device(opts.execution_environment)
    if spec.dataset is None or spec.model is None:
        # Only an external run (logged by its own script) has none; it is never trained here.
        raise EngineError(f"a {spec.kind} run has no dataset or model to train")
    if data is None:
        data = load_dataset(spec.dataset, data_dir)
    info = data.info
    task = info.task
    layers = resolve_layers(spec.model, info)
    shapes = infer_shapes(layers, info)

    torch.manual_seed(opts.seed)  # initial weights, then dropout draws
    model = build_model(layers, info).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, opts)
    tensors = _to_tensors(data, device)
    X, y = tensors["train"]
    val = tensors.get("val") if plan.validate else None
    if plan.max_train_samples is not None:
        X, y = X[: plan.max_train_samples], y[: plan.max_train_samples]

    n_train = len(X)
    batch = opts.mini_batch_size
    # The last incomplete mini-batch is dropped, as MATLAB does.
    iters_per_epoch = n_train // batch
    if iters_per_epoch == 0:
        raise EngineError(
            f"mini_batch_size {batch} is larger than the {n_train} training samples; "
            f"set it to {n_train} or less"
        )
    if plan.iteration_limit is not None:
        # A probe runs a number of iterations, however many epochs that takes.
        opts = opts.model_copy(
            update={"max_epochs": math.ceil(plan.iteration_limit / iters_per_epoch)}
        )
    max_iterations = iters_per_epoch * opts.max_epochs
    if plan.iteration_limit is not None:
        max_iterations = min(max_iterations, plan.iteration_limit)
    explosion = ExplosionWatch() if plan.stop_on_explosion else None
    ratios = UpdateRatios(model, layers) if opts.update_ratio_frequency > 0 and params else None
    shuffler = torch.Generator().manual_seed(opts.seed)
    perm = (
        torch.arange(n_train)
        if opts.shuffle == "never"
        else torch.randperm(n_train, generator=shuffler)
    )

    # Everything a checkpoint restores, besides the model and the optimizer.
    iteration = 0
    seq = 1
    best_val_loss = math.inf
    stale_validations = 0
    plateau = PlateauState()
    best_state: dict[str, torch.Tensor] | None = None
    last_validated = 0
    best_epoch: int | None = None  # the epoch whose end followed the best validation
    ckpt_path = run_dir / CHECKPOINT_NAME if run_dir is not None else None

    if run_dir is not None:
        remove_partial_writes(run_dir)  # a worker killed mid-save before this one
    state = None
    if resume:
        if ckpt_path is None or not has_checkpoint(ckpt_path.parent):
            raise EngineError(f"no checkpoint to resume from at {ckpt_path}")
        state = choose_checkpoint(ckpt_path.parent, persisted_seq)
    same_solver = True
    if state is None and branch_from is not None:
        state = load_checkpoint(branch_from)
        parent_options = RunSpec.model_validate_json(state["spec"]).options
        same_solver = parent_options.solver == opts.solver
    if state is not None:
        model.load_state_dict(state["model"])
        if same_solver:
            # Momentum buffers / Adam moments carry on; the hyperparameters are this spec's
            # (load_state_dict would restore the parent's momentum, decay and betas too).
            wanted = [dict(g) for g in optimizer.param_groups]
            optimizer.load_state_dict(state["optimizer"])
            for group, settings in zip(optimizer.param_groups, wanted, strict=True):
                group.update({k: v for k, v in settings.items() if k != "params"})
        # else: another solver's state means nothing to this one: it starts fresh.
        shuffler.set_state(state["shuffler"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"])
        perm = state["perm"]
        iteration, seq = int(state["iteration"]), int(state["seq"])
        best_val_loss = float(state["best_val_loss"])
        stale_validations = int(state["stale_validations"])
        plateau = PlateauState(float(state["plateau_scale"]), int(state["plateau_stale"]))
        best_state = state.get("best_state")
        last_validated = int(state["last_validated"])
        best_epoch = state.get("best_epoch")

    def checkpoint(epoch_end: bool = False) -> None:
        if ckpt_path is None:
            return
        state: dict[str, Any] = {
            "spec": spec.model_dump_json(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "shuffler": shuffler.get_state(),
            "torch_rng": torch.get_rng_state(),
            "perm": perm,
            "iteration": iteration,
            "seq": recorder.next_seq,
            "best_val_loss": best_val_loss,
            "stale_validations": stale_validations,
            "plateau_scale": plateau.scale,
            "plateau_stale": plateau.stale_validations,
            "last_validated": last_validated,
            "best_epoch": best_epoch,
        }
        if device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()
        if best_state is not None:
            state["best_state"] = best_state
        save_checkpoint(state, ckpt_path, keep_previous=True)
        if epoch_end:
            keep_epoch_checkpoint(ckpt_path, epoch, checkpoint_budget, best_epoch)
        emit(CheckpointSaved(str(ckpt_path), iteration, epoch, recorder.next_seq))

    key = metric_name(task)
    recorder = PointRecorder(emit, f"train_{key}", device, next_seq=seq)
    emit(
        Started(
            device=describe_device(device),
            task=task,
            n_train=n_train,
            n_val=len(val[0]) if val is not None else 0,
            n_test=len(tensors["test"][0]),
            iterations_per_epoch=iters_per_epoch,
            max_iterations=max_iterations,
            num_parameters=count_parameters(model),
            class_names=data.class_names,
            resumed_from_iteration=iteration,
            layers=describe_layers(layers, shapes),
        )
    )

    model.train()
    finish_reason: FinishReason = "max-epochs"
    start_epoch = iteration // iters_per_epoch + 1
    epoch = min(start_epoch, opts.max_epochs)
    for epoch in range(start_epoch, opts.max_epochs + 1):
        first_batch = iteration - (epoch - 1) * iters_per_epoch  # > 0 only when resuming mid-epoch
        if first_batch == 0 and opts.shuffle == "every-epoch" and epoch > 1:
            perm = torch.randperm(n_train, generator=shuffler)
        epoch_perm = perm.to(device)
        for b in range(first_batch, iters_per_epoch):
            iteration += 1
            if plan.learn_rate is not None:
                lr = plan.learn_rate(iteration)
            else:
                lr = learn_rate_at(opts, iteration, epoch, iters_per_epoch, max_iterations)
                lr *= plateau.scale
            for group in optimizer.param_groups:
                group["lr"] = lr

            idx = epoch_perm[b * batch : (b + 1) * batch]
            xb, yb = X[idx], y[idx]
            output = model(xb)
            loss = loss_fn(task, output, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            grad_norm = clip_gradients(
                params, opts.gradient_threshold_method, opts.gradient_threshold
            )
            measure = ratios is not None and iteration % opts.update_ratio_frequency == 0
            if measure:
                assert ratios is not None
                ratios.before_step()
            optimizer.step()
            # Tensors, not floats: on a GPU a float() here would sync every iteration.
            recorder.record(iteration, epoch, lr, loss, batch_metric(task, output, yb), grad_norm)
            extra: dict[str, float] | None = None
            if measure:
                assert ratios is not None
                extra = ratios.after_step()  # joins this iteration's point (a flush below)

            validate_now = val is not None and (
                iteration % opts.validation_frequency == 0 or iteration == max_iterations
            )
            improved = False
            if validate_now:
                assert val is not None
                result = evaluate(model, val[0], val[1], task)
                extra = {**(extra or {}), "val_loss": result.loss, f"val_{key}": result.metric}
                last_validated = iteration
                improved = result.loss < best_val_loss
                if improved:
                    best_val_loss, stale_validations = result.loss, 0
                    best_epoch = epoch
                    if opts.output_network == "best-validation-loss":
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    stale_validations += 1
                plateau.update(opts, improved)

            if explosion is not None and explosion.exploded(float(loss.detach())):
                # The range test's end: a sync per iteration (float) is fine in a short probe.
                recorder.flush(extra)
                finish_reason = "loss-exploded"
                break
            if extra is not None or recorder.due:
                bad = recorder.flush(extra)
                if bad is not None:
                    status = Status(
                        "diverged",
                        iteration=bad,
                        message=f"training loss became non-finite at iteration {bad}; "
                        "lower initial_learn_rate (e.g. ÷10) or set gradient_threshold",
                    )
                    emit(status)
                    return status

            if validate_now and stale_validations >= opts.validation_patience:
                finish_reason = "validation-patience"
                break
            if plan.iteration_limit is not None and iteration >= max_iterations:
                # A probe's last iteration can fall mid-epoch.
                if plan.stop_on_explosion:
                    finish_reason = "range-end"
                break
            if should_stop():
                recorder.flush()
                checkpoint()
                status = Status("stopped", iteration=iteration, message="stopped on request")
                emit(status)
                return status
        else:
            recorder.flush()
            checkpoint(epoch_end=True)
            continue
        break  # validation patience ran out

    bad = recorder.flush()
    if bad is not None:
        status = Status("diverged", iteration=bad, message=f"loss non-finite at iteration {bad}")
        emit(status)
        return status

    if opts.output_network == "best-validation-loss" and best_state is not None:
        model.load_state_dict(best_state)
    class_names = data.class_names
    if task == "classification" and class_names is None:
        class_names = [str(i) for i in range(info.output_size)]
    if plan.test:
        _finish(model, tensors["test"], task, key, class_names, recorder, iteration, epoch, emit)
    if run_dir is not None:
        save_checkpoint({"model": model.state_dict()}, run_dir / MODEL_NAME)
    status = Status("completed", finish_reason=finish_reason, iteration=iteration)
    emit(status)
    return status


def _finish(
    model: torch.nn.Module,
    test: tuple[torch.Tensor, torch.Tensor],
    task: Task,
    key: str,
    class_names: list[str] | None,
    recorder: PointRecorder,
    iteration: int,
    epoch: int,
    emit: Callable[[Event], None],
) -> None:
    """Test metrics as a final point, and the artefact the UI draws for them."""
    Xt, yt = test
    if len(Xt) == 0:  # test_fraction 0: nothing held out, nothing to report
        return
    result = evaluate(model, Xt, yt, task)
    recorder.emit_point(iteration, epoch, {"test_loss": result.loss, f"test_{key}": result.metric})
    if class_names is not None:
        matrix = confusion_matrix(result.predictions, yt, len(class_names), class_names)
        emit(Artefact("confusion_matrix", matrix))
    else:
        emit(Artefact("predictions", prediction_pairs(result.predictions, yt)))
