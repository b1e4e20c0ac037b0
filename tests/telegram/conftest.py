import pytest

# The contract's tests live outside test modules: have pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.telegram.contract")
