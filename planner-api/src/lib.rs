//! The LuckyGas planning service and command line.
