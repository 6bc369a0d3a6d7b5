"""`python -m picseek.evals.language.real`: the scorer lives in evals/language/realtext.py; this folder is the
blind data set (README.md)."""
