# R data for Keras: the one converter used wherever kerasclr takes data (today
# lr_range_test()'s `x`, `y`, `validation_data` and `sample_weight`). It follows the rules
# of keras3's fit() (keras3 1.5.1, R/model-training.R `input_data_normalizer()` and
# `as_data_generator()`), with the additions documented in ?kerasclr-data.

#' How kerasclr converts R data for Keras
#'
#' Wherever kerasclr takes training data ([lr_range_test()]'s `x`, `y`,
#' `validation_data`, `sample_weight` and `class_weight`), R data are converted to NumPy the way
#' keras3's `fit()` converts them, so that what works with keras3 works here:
#'
#' * **Double** vectors, matrices and arrays become arrays of the model's input dtype
#'   when that is a floating-point type (float32 for almost every model), else float32.
#' * **Integer** vectors, matrices and arrays stay integers (int32, or the model's input
#'   dtype when that is an integer type); Keras casts them where the model computes in
#'   floats. Integer class labels go with `loss = "sparse_categorical_crossentropy"`.
#' * **Logical** data become boolean arrays (`TRUE` is 1, `FALSE` is 0 where Keras
#'   computes with them, e.g. labels for `loss = "binary_crossentropy"`).
#' * **Factors** become their 0-based integer codes, `as.integer(f) - 1L`, as keras3 does:
#'   class labels `0, ..., nlevels(f) - 1` in the order of `levels(f)`, ready for
#'   `"sparse_categorical_crossentropy"` (or `"binary_crossentropy"` with two levels).
#' * **Arrays keep R's indexing**: element `x[i, j, k]` is element `[i - 1, j - 1, k - 1]`
#'   of the NumPy array, the first dimension being the samples. The array is copied into
#'   row-major ("C") order, which Keras reads fastest (keras3's `np_array(order = "C")`;
#'   this is not `array_reshape()`, which reorders the values). A vector is one value per
#'   sample.
#' * **Data frames** of numeric, integer, logical or factor columns become one matrix
#'   with a column per data-frame column (rows are samples; factor columns give their
#'   codes, logical columns 0 and 1). When every input of the model is named by a column
#'   (`keras$Input(name = "age")`), the columns go to those inputs instead, as keras3
#'   passes a data frame: a named list of columns.
#' * **Lists** of the above are several inputs (or outputs), in order; a **named list** goes
#'   to the inputs of those names.
#' * **R functions** are generators, as the old keras package's `fit_generator()` takes
#'   them: each call returns one batch, `list(x, y)` or `list(x, y, sample_weight)` (each
#'   part converted by these rules), and `NULL` ends the data.
#' * **`class_weight`** is a named numeric vector or list: names are 0-based class indices
#'   (`c("0" = 1, "1" = 5)`, as in keras3) or, with factor labels, the levels
#'   (`c(setosa = 1, virginica = 2)`); an unnamed vector gives classes 0, 1, ... in order.
#'   Classes left out weigh 1.
#' * **Python objects** are passed on as they are: NumPy arrays, tensors, `tf.data`
#'   datasets (keras3's `image_dataset_from_directory()`, tfdatasets), `keras.utils.PyDataset`,
#'   Python generators and iterators, torch `DataLoader`s.
#'
#' Anything else is an R error naming the argument (and the column or list element),
#' raised before Python is called: character data (convert labels with `factor()`),
#' `NA` values (remove or impute them first: Keras would see `NaN`, or a garbage integer),
#' dates and other classed vectors, and nested data frames.
#'
#' @returns This help page documents behaviour; it has no function.
#' @family range test
#' @name kerasclr-data
#' @examplesIf reticulate::py_module_available("keras")
#' keras <- reticulate::import("keras")
#' model <- keras$Sequential(list(keras$Input(shape = list(4L)),
#'                                keras$layers$Dense(3L, activation = "softmax")))
#' model$compile(optimizer = "sgd", loss = "sparse_categorical_crossentropy")
#' # A data frame of numbers and a factor of class labels, as R users have them:
#' res <- lr_range_test(model, iris[, 1:4], iris$Species, start_lr = 1e-4, end_lr = 10,
#'                      num_iter = 20, batch_size = 16, verbose = FALSE)
#' res$lr_range
NULL

# Checks R data for Keras (`spec = NULL`: in R only, no Python) or converts it to what
# Keras takes (`spec` from data_spec()). `arg` names the data in error messages; `role`
# says which names of the model a data frame's columns may match ("input_names" for
# inputs, "output_names" for targets, NULL for neither). Python objects pass as they are;
# R functions become Python generators.
as_keras_data <- function(x, arg, spec = NULL, role = NULL) {
  if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
  if (is.function(x)) return(if (is.null(spec)) check_generator(x, arg) else r_generator(x, arg, spec))
  if (is.data.frame(x)) return(frame_data(x, arg, spec, role))
  if (is.list(x) && !is.object(x)) {
    out <- lapply(seq_along(x), function(i) {
      as_keras_data(x[[i]], element_arg(arg, x, i), spec, role)
    })
    names(out) <- names(x)
    return(out)
  }
  array_data(x, arg, spec)
}

# `validation_data`: list(x_val, y_val) or list(x_val, y_val, sample_weight) becomes a Python
# tuple, as Keras wants it; a dataset or generator is converted (or passed on) as `x` is.
as_keras_validation <- function(v, spec = NULL) {
  if (is.null(v) || inherits(v, "python.builtin.object") || is.function(v)) {
    return(as_keras_data(v, "validation_data", spec))
  }
  if (!is.list(v) || is.data.frame(v) || !length(v) %in% 2:3) {
    arg_error("validation_data", "a list(x_val, y_val), a dataset or a generator", v)
  }
  check_samples(v[[1]], v[[2]], "validation_data")
  parts <- lapply(seq_along(v), function(i) {
    as_keras_data(v[[i]], sprintf("validation_data[[%d]]", i), spec, BATCH_ROLES[i])
  })
  if (is.null(spec)) v else do.call(reticulate::tuple, parts)
}

# The model names that the data frames of list(x, y, sample_weight) may match.
BATCH_ROLES <- c("input_names", "output_names", NA)

# What the conversion needs to know about the model, looked up only when used (as keras3's
# input_data_normalizer() does): its input dtype and the names of its inputs and outputs.
data_spec <- function(model) {
  spec <- new.env(parent = emptyenv())
  delayedAssign("dtype", model_input_dtype(model), assign.env = spec)
  delayedAssign("input_names", tensor_names(model, "inputs"), assign.env = spec)
  delayedAssign("output_names", tensor_names(model, "outputs"), assign.env = spec)
  spec
}

# `class_weight`: a weight per class, as a Python dict with integer keys (Keras looks the
# classes up as ints, so a dict with R's string names would be ignored without a word).
# Named by 0-based class index (keras3's rule) or, with factor labels `y`, by level;
# unnamed: one weight per class from class 0.
as_class_weight <- function(class_weight, y = NULL, to_py = TRUE) {
  if (is.null(class_weight) || inherits(class_weight, "python.builtin.object")) return(class_weight)
  values <- if (is.list(class_weight) && !is.object(class_weight)) {
    if (!all(vapply(class_weight, function(v) is.numeric(v) && length(v) == 1, TRUE))) NULL
    else unlist(class_weight)
  } else if (is.numeric(class_weight) && !is.object(class_weight)) class_weight
  if (is.null(values) || length(values) == 0 || anyNA(values) || any(!is.finite(values)) ||
      any(values < 0)) {
    arg_error("class_weight", "a named numeric vector or list of weights >= 0", class_weight)
  }
  keys <- names(values)
  classes <- if (is.null(keys)) {
    seq_along(values) - 1L
  } else if (is.factor(y) && all(keys %in% levels(y))) {
    match(keys, levels(y)) - 1L
  } else {
    codes <- suppressWarnings(as.numeric(keys))
    if (anyNA(codes) || any(codes < 0) || any(codes != round(codes))) {
      bad <- keys[is.na(codes) | codes < 0 | codes != round(codes)][1]
      stop(sprintf(paste("`class_weight` must be named by 0-based class indices%s, not \"%s\"."),
                   if (is.factor(y)) " or by the levels of `y`" else "", bad), call. = FALSE)
    }
    as.integer(codes)
  }
  if (anyDuplicated(classes)) stop("`class_weight` must give each class once.", call. = FALSE)
  if (!to_py) return(invisible(class_weight))
  reticulate::py_dict(as.list(classes), as.list(as.double(values)))
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# A vector, matrix or array (or a factor): checked, then a NumPy array (C order).
array_data <- function(x, arg, spec) {
  if (is.factor(x)) {
    check_no_na(x, arg)
    x <- array(as.integer(x) - 1L, dim = dim(x) %||% length(x))
  } else if (!is_plain_data(x)) {
    stop(sprintf("`%s` must be numeric, logical or a factor, not %s.%s", arg, describe_data(x),
                 if (is.character(x)) " Convert class labels with `factor()`." else ""),
         call. = FALSE)
  }
  check_no_na(x, arg)
  if (is.null(spec)) return(x)
  reticulate::np_array(x, dtype = keras_dtype(x, spec$dtype), order = "C")
}

# A data frame: one matrix (columns as features), or its columns by name when they name
# every input of the model (keras3 passes a data frame as a named list).
frame_data <- function(x, arg, spec, role) {
  if (ncol(x) == 0) stop(sprintf("`%s` must have at least one column.", arg), call. = FALSE)
  columns <- lapply(names(x), function(name) {
    column <- x[[name]]
    what <- sprintf("Column `%s` of `%s`", name, arg)
    if (is.data.frame(column) || !(is_plain_data(column) || is.factor(column))) {
      stop(sprintf("%s must be numeric, logical or a factor, not %s.%s", what,
                   describe_data(column),
                   if (is.character(column)) " Convert class labels with `factor()`." else ""),
           call. = FALSE)
    }
    if (anyNA(column)) {
      stop(sprintf("%s must not contain NA values (it has %d): remove or impute them first.",
                   what, sum(is.na(column))), call. = FALSE)
    }
    if (is.factor(column)) as.integer(column) - 1L else column
  })
  names(columns) <- names(x)
  if (is.null(spec)) return(x)
  targets <- if (!is.null(role) && !is.na(role)) spec[[role]]
  if (length(targets) > 0 && all(targets %in% names(columns))) {
    return(lapply(columns[targets], array_data, arg = arg, spec = spec))
  }
  matrix_of <- do.call(cbind, columns)
  dimnames(matrix_of) <- NULL
  array_data(matrix_of, arg, spec)
}

# An R generator function (as fit_generator() takes it): a Python generator whose batches
# are converted by the same rules. An R error in the function or in a batch stops the data
# with a Python error; py_call() then raises the R error itself (TensorFlow would wrap it
# in a traceback), and reticulate would otherwise only print it and end the data quietly.
r_generator <- function(fn, arg, spec) {
  check_generator(fn, arg)
  bridge <- kerasclr_py_module("_r_bridge")
  .kerasclr$batch_error <- NULL
  next_batch <- function() {
    tryCatch({
      batch <- tryCatch(fn(), error = function(e) {
        stop(sprintf("The generator function `%s` failed: %s", arg, conditionMessage(e)),
             call. = FALSE)
      })
      if (is.null(batch)) return(NULL)
      if (!is.list(batch) || is.data.frame(batch) || !length(batch) %in% 1:3) {
        stop(sprintf("`%s` must return batches list(x, y) or list(x, y, sample_weight), not %s.",
                     arg, describe_data(batch)), call. = FALSE)
      }
      parts <- lapply(seq_along(batch), function(i) {
        as_keras_data(batch[[i]], sprintf("%s()[[%d]]", arg, i), spec, BATCH_ROLES[i])
      })
      do.call(reticulate::tuple, parts)
    }, error = function(e) {
      .kerasclr$batch_error <- e
      bridge$BatchError(conditionMessage(e))
    })
  }
  bridge$generator_of(reticulate::py_iterator(next_batch))
}

# The R error that stopped an R generator's data, once (see r_generator() and py_call()).
take_batch_error <- function() {
  error <- .kerasclr$batch_error
  .kerasclr$batch_error <- NULL
  error
}

# A generator function is called with no arguments: it may have none without a default.
check_generator <- function(fn, arg) {
  args <- formals(fn)
  required <- names(args)[vapply(args, function(a) identical(a, quote(expr = )), TRUE)]
  required <- setdiff(required, "...")
  if (length(required) > 0) {
    stop(sprintf("`%s` must be a generator function that takes no arguments (it returns one batch per call), not a function of %s.",
                 arg, paste0("`", required, "`", collapse = ", ")), call. = FALSE)
  }
  invisible(fn)
}

# Unclassed (or I()) double, integer or logical data: a matrix or array has no class attribute.
is_plain_data <- function(x) {
  (is.double(x) || is.integer(x) || is.logical(x)) && (!is.object(x) || inherits(x, "AsIs"))
}

check_no_na <- function(x, arg) {
  if (anyNA(x)) {
    stop(sprintf("`%s` must not contain NA values (it has %d): remove or impute them first.", arg,
                 sum(is.na(x))), call. = FALSE)
  }
}

describe_data <- function(x) {
  if (is.data.frame(x)) return("a data frame")
  if (is.object(x)) return(sprintf("an object of class %s", class(x)[1]))
  if (is.list(x)) return("a list")
  shape <- if (is.matrix(x)) "matrix" else if (is.array(x)) "array" else "vector"
  type <- typeof(x)
  sprintf("%s %s %s", if (grepl("^[aeiou]", type)) "an" else "a", type, shape)
}

element_arg <- function(arg, x, i) {
  name <- names(x)[i]
  if (!is.null(name) && !is.na(name) && nzchar(name)) sprintf("%s$%s", arg, name)
  else sprintf("%s[[%d]]", arg, i)
}

# keras3's rule: doubles get the model's float dtype, integers its int dtype; other
# combinations are not cast here (Keras casts). Doubles never go to Keras as float64.
keras_dtype <- function(x, model_dtype) {
  if (is.double(x)) return(if (grepl("float", model_dtype)) model_dtype else "float32")
  if (is.integer(x) && grepl("int", model_dtype)) return(model_dtype)
  NULL
}

model_input_dtype <- function(model) {
  dtype <- tryCatch(reticulate::py_to_r(reticulate::py_get_attr(model, "input_dtype", silent = TRUE)),
                    error = function(e) NULL)
  if (is.character(dtype) && length(dtype) == 1) dtype else "float32"
}

# The names of a built model's inputs or outputs (NULL when unknown, e.g. not built yet).
tensor_names <- function(model, what) {
  tryCatch({
    tensors <- reticulate::py_get_attr(model, what)
    vapply(reticulate::py_to_r(tensors), function(t) {
      as.character(reticulate::py_to_r(reticulate::py_get_attr(t, "name")))
    }, "")
  }, error = function(e) NULL)
}

# Samples in R data (rows), or in a list of them (multi-input); NA for other sources,
# -1 for a list whose elements disagree.
n_samples <- function(x) {
  if (is.null(x) || inherits(x, "python.builtin.object") || is.function(x)) return(NA_integer_)
  if (is.data.frame(x) || is.array(x) || (is.atomic(x) && is.vector(x)) || is.factor(x)) {
    return(NROW(x))
  }
  if (is.list(x) && length(x) > 0) {
    n <- vapply(x, n_samples, integer(1))
    n <- unique(n[!is.na(n)])
    if (length(n) == 1) return(n)
    if (length(n) > 1) return(-1L)
  }
  NA_integer_
}

# x and y hold as many samples as each other (and at least one).
check_samples <- function(x, y, name = NULL) {
  nx <- n_samples(x)
  ny <- n_samples(y)
  xname <- if (is.null(name)) "x" else sprintf("%s[[1]]", name)
  yname <- if (is.null(name)) "y" else sprintf("%s[[2]]", name)
  if (identical(nx, -1L)) {
    stop(sprintf("The arrays in `%s` must have the same number of samples (rows).", xname),
         call. = FALSE)
  }
  if (!is.na(nx) && nx == 0) stop(sprintf("`%s` must have at least one sample.", xname), call. = FALSE)
  if (!is.na(nx) && !is.na(ny) && nx != ny) {
    stop(sprintf("`%s` must have as many samples as `%s` (%d), not %d.", yname, xname, nx, ny),
         call. = FALSE)
  }
  invisible(TRUE)
}
