//! Herald subscriber (in progress).
