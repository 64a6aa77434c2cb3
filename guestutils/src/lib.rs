//! Herald guestutils (in progress).
