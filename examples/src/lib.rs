//! Runnable example functions; each lives in `src/bin/`.
