"""Evaluation: how good a critic is (``critic``: error-level F1, severity Pearson, reward
ranking on synth test sets or VC-RewardBench) and how good a code-writing policy is
(``policy``: render success and mean reward per domain)."""
