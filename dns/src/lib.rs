//! Herald dns (in progress).
