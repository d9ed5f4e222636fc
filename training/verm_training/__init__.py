"""verm_training: finetune the judging model and a code-writing policy (reward-model SFT, GRPO)."""
