# The project is configured in pyproject.toml; this shim keeps `python setup.py …` and old tools working.
import setuptools

setuptools.setup()
