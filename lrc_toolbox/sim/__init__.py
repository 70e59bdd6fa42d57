"""Stand-ins for Maya and its renderers, so the batch manager runs and is tested without them."""

from __future__ import annotations
