"""The conversation: query plans, planners (LLM and offline), session state and grounded explanations."""
