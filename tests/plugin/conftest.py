"""The plugin's tests run users' test files in a child pytest, with pytest's own pytester."""

pytest_plugins = ["pytester"]
