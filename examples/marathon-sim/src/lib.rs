//! Marathon simulator (in progress).
