//! Convolution and pooling kernels (NCHW): conv2d forward/backward, max/avg/adaptive pooling.
