"""Adapters from what PyTorch users already log with to trainscope's SDK (docs/integrations.md).

None of them imports its framework at `import trainscope`: each module is loaded on first use.
"""

from __future__ import annotations
