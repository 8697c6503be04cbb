"""The evaluation harness behind `make eval`: cross-validation, the frozen held-out set,
baselines side by side, and a report a person can read (reports/eval/)."""
