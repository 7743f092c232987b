#' kerasclr: cyclical learning rates, one-cycle and the learning-rate range test for Keras 3
#'
#' Schedules as R vectors ([cyclic_lr()], [one_cycle_lr()]), per-batch callbacks that also
#' cycle momentum, in-optimizer schedule objects, and the learning-rate range test. The maths
#' lives in a Python package shipped in `inst/python/kerasclr`, imported lazily through
#' reticulate; [install_kerasclr()] sets up a Python environment for it.
#'
#' @keywords internal
"_PACKAGE"
