//! A local AWS Lambda emulator (work in progress).
