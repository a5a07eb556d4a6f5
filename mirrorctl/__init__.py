"""mirrorctl: mirrors, riscv64 patch queues and upgrade grades for the riscv64 wheel builders."""

__version__ = "0.1.0"
__all__ = ["__version__"]
