# Fixtures for every test in the tree (tests/ and the feature modules' own tests).
pytest_plugins = ["tests.fixtures"]
