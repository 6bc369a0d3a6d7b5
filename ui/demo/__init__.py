"""The offline demo: a generated toy scene world and the script that trains the bundled toy model on it."""
