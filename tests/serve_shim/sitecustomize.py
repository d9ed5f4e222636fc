"""Started with PYTHONPATH pointing here, ``transformers serve`` loads the tests' tiny Qwen3-VL
on a machine without torchvision (see verm.critic.model.compat and NOTES.md)."""

from verm.critic.model.compat import allow_missing_torchvision

allow_missing_torchvision()
