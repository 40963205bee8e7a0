//! Property tests for every balancer kind (filled in next).
