"""Loss and metric definitions shared by training, validation and test (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from trainscope.schemas.shapes import Task


def metric_name(task: Task) -> str:
    """'accuracy' for classifiers, 'rmse' for regressors: the suffix of train_/val_/test_ names."""
    return "accuracy" if task == "classification" else "rmse"


def loss_fn(task: Task, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if task == "classification":
        return F.cross_entropy(output, target)
    return F.mse_loss(output, target)


def batch_metric(task: Task, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mini-batch accuracy (fraction) or RMSE, as a 0-d tensor on the output's device."""
    with torch.no_grad():
        if task == "classification":
            return (output.argmax(dim=1) == target).float().mean()
        return torch.sqrt(F.mse_loss(output, target))


@dataclass
class Evaluation:
    loss: float
    metric: float
    predictions: torch.Tensor  # class indices (classification) or values (regression), on CPU


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, task: Task, chunk: int = 2048
) -> Evaluation:
    """Loss and metric over a whole split, in chunks so a large split never needs one huge batch.

    The sums stay on the device; the single .item()-style copy at the end is the one sync.
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=X.device, dtype=torch.float64)
    preds: list[torch.Tensor] = []
    for start in range(0, len(X), chunk):
        out = model(X[start : start + chunk])
        tgt = y[start : start + chunk]
        if task == "classification":
            loss_sum += F.cross_entropy(out, tgt, reduction="sum").double()
            preds.append(out.argmax(dim=1))
        else:
            loss_sum += F.mse_loss(out, tgt, reduction="sum").double() / out.shape[1]
            preds.append(out)
    model.train(was_training)
    all_preds = torch.cat(preds)
    n = len(X)
    loss = float(loss_sum) / n
    if task == "classification":
        metric = float((all_preds == y).double().mean())
    else:
        metric = float(torch.sqrt(F.mse_loss(all_preds.double(), y.double())))
    return Evaluation(loss=loss, metric=metric, predictions=all_preds.cpu())


def confusion_matrix(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, class_names: list[str]
) -> dict[str, Any]:
    """Counts[i][j] = test samples of true class i predicted as class j."""
    idx = targets.cpu() * num_classes + predictions
    counts = torch.bincount(idx, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )
    return {"class_names": class_names, "counts": counts.tolist()}


def prediction_pairs(
    predictions: torch.Tensor, targets: torch.Tensor, limit: int = 2000
) -> dict[str, Any]:
    """Predicted against true values for the first `limit` test samples (first target)."""
    p = predictions[:limit, 0].tolist()
    t = targets.cpu()[:limit, 0].tolist()
    return {"predicted": p, "target": t, "n_total": len(predictions)}
