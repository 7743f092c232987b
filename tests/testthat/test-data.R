# The R data converter (R/data.R, ?kerasclr-data): R's own types as Keras gets them, and R
# errors naming the argument (and the column) for what is not data, before any Python call.

not_a_model <- structure(list(), class = "not_a_model")
x4 <- matrix(seq_len(40) / 40, ncol = 4)

test_that("non-numeric data and NA are R errors naming the argument, before Python", {
  # `not_a_model` would be the error if Python (or the model check) were reached first.
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, letters[1:10]))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, data.frame(a = 1:10, b = letters[1:10]),
                                              1:10))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, c(1:9, NA)))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, data.frame(a = c(1, NA, 3:10)), 1:10))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, factor(c(letters[1:9], NA))))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, list(x4, letters[1:10]), 1:10))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, list(a = x4, b = list("x")), 1:10))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, Sys.Date() + 0:9))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, data.frame(a = 1:10)[, 0], 1:10))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, 1:10, sample_weight = letters[1:10]))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, NULL))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, function(n) list(x4, 1:10)))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, 1:10,
                                              validation_data = list(x4, 1:10, 1:10, 1:10)))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, 1:10,
                                              validation_data = list(x4, as.character(1:10))))
  expect_snapshot(error = TRUE, lr_range_test(not_a_model, x4, 1:10, validation_data = "val"))
})

# ---------------------------------------------------------------------------
# The conversion (NumPy needed, no model)
# ---------------------------------------------------------------------------

spec_of <- function(dtype = "float32", input_names = NULL, output_names = NULL) {
  list2env(list(dtype = dtype, input_names = input_names, output_names = output_names))
}

convert <- function(x, spec = spec_of(), role = "input_names") {
  kerasclr:::as_keras_data(x, "x", spec, role)
}

# A NumPy array's dtype, shape, C-contiguity, and its values in row-major (C) order.
np_facts <- function(a) {
  list(dtype = as.character(a$dtype$name), shape = unlist(reticulate::py_to_r(a$shape)),
       c_order = reticulate::py_to_r(a$flags$c_contiguous),
       values = as.vector(reticulate::py_to_r(a$ravel(order = "C"))))
}

test_that("vectors keep their type, one value per sample", {
  skip_if_no_python()
  expect_equal(np_facts(convert(c(1L, 5L, 2L))),
               list(dtype = "int32", shape = 3L, c_order = TRUE, values = c(1L, 5L, 2L)))
  expect_equal(np_facts(convert(c(0.5, 2))),
               list(dtype = "float32", shape = 2L, c_order = TRUE, values = c(0.5, 2)))
  expect_equal(np_facts(convert(c(TRUE, FALSE, TRUE))),
               list(dtype = "bool", shape = 3L, c_order = TRUE, values = c(TRUE, FALSE, TRUE)))
  # The model's float dtype for doubles, its integer dtype for integers (keras3's rule).
  expect_identical(np_facts(convert(c(0.5, 2), spec_of("float64")))$dtype, "float64")
  expect_identical(np_facts(convert(1:3, spec_of("int64")))$dtype, "int64")
  expect_identical(np_facts(convert(c(0.5, 2), spec_of("int64")))$dtype, "float32")
})

test_that("factors are their 0-based codes in the order of the levels", {
  skip_if_no_python()
  f <- factor(c("b", "a", "c", "b"), levels = c("c", "b", "a"))
  expect_equal(np_facts(convert(f)),
               list(dtype = "int32", shape = 4L, c_order = TRUE, values = c(1L, 2L, 0L, 1L)))
  expect_identical(np_facts(convert(iris$Species))$values, as.integer(iris$Species) - 1L)
})

test_that("arrays keep R's indexing and are copied into C order", {
  skip_if_no_python()
  x <- array(as.double(seq_len(2 * 3 * 4)), dim = c(2, 3, 4))
  facts <- np_facts(convert(x))
  expect_identical(facts$shape, c(2L, 3L, 4L))
  expect_true(facts$c_order)
  # Row-major order of x[i, j, k] is the last index fastest: aperm() then R's column order.
  expect_identical(facts$values, as.vector(aperm(x, 3:1)))
  back <- reticulate::py_to_r(convert(x))
  expect_identical(back, x)
  m <- matrix(1:6, nrow = 2)
  expect_identical(np_facts(convert(m))$values, c(1L, 3L, 5L, 2L, 4L, 6L))
})

test_that("a data frame is one matrix, a column per feature; factor and logical columns as numbers", {
  skip_if_no_python()
  df <- data.frame(num = c(0.5, 1.5, 2.5), int = 1:3, lgl = c(TRUE, FALSE, TRUE),
                   f = factor(c("lo", "hi", "lo"), levels = c("lo", "hi")))
  facts <- np_facts(convert(df))
  expect_identical(facts$shape, c(3L, 4L))
  expect_identical(facts$dtype, "float32")
  want <- cbind(df$num, df$int, as.integer(df$lgl), as.integer(df$f) - 1L)
  expect_identical(facts$values, as.vector(t(want)))
  # Integer columns only: an integer matrix.
  expect_identical(np_facts(convert(data.frame(a = 1:2, b = 3:4)))$dtype, "int32")
  # Columns that name every input of the model go to those inputs (keras3's named list).
  by_name <- convert(df[c("num", "int")], spec_of(input_names = c("int", "num")))
  expect_identical(names(by_name), c("int", "num"))
  expect_identical(np_facts(by_name$int)$values, 1:3)
  # ... and the targets' columns to the outputs' names (for `y`).
  y <- convert(data.frame(out = c(1, 2, 3)), spec_of(output_names = "out"), role = "output_names")
  expect_identical(np_facts(y$out)$values, c(1, 2, 3))
})

test_that("lists are several inputs, named lists go by name, Python objects pass as they are", {
  skip_if_no_python()
  two <- convert(list(matrix(1, 2, 2), c(1L, 2L)))
  expect_true(is.list(two) && is.null(names(two)) && length(two) == 2)
  expect_identical(np_facts(two[[2]])$dtype, "int32")
  named <- reticulate::r_to_py(convert(list(a = 1:2, b = c(0.5, 1))))
  expect_s3_class(named, "python.builtin.dict")
  np <- reticulate::import("numpy", convert = FALSE)
  a <- np$ones(c(2L, 2L))
  expect_identical(convert(a), a)
  expect_null(convert(NULL))
})

test_that("an R generator function gives converted batches; NULL ends, errors stop with R's message", {
  skip_if_no_python()
  i <- 0L
  fn <- function() {
    i <<- i + 1L
    if (i > 2) return(NULL)
    list(matrix(i + 0.5, 2, 2), factor(c("a", "b")))
  }
  batches <- reticulate::iterate(convert(fn), simplify = FALSE)
  expect_length(batches, 2)
  expect_identical(batches[[2]][[1]], matrix(2.5, 2, 2))  # float32 2.5 is exact
  expect_identical(as.vector(batches[[1]][[2]]), c(0L, 1L))
  bad <- function() list(matrix(1, 2, 2), c("a", "b"))
  expect_snapshot(error = TRUE, kerasclr:::py_call(reticulate::iterate(convert(bad))))
  broken <- function() stop("no more files")
  expect_snapshot(error = TRUE, kerasclr:::py_call(reticulate::iterate(convert(broken))))
  not_a_batch <- function() matrix(1, 2, 2)
  expect_snapshot(error = TRUE, kerasclr:::py_call(reticulate::iterate(convert(not_a_batch))))
})

test_that("class_weight: named by class index or factor level, unnamed in class order", {
  skip_if_no_python()
  # A Python dict with integer keys (R's string names would be ignored by Keras), as
  # sorted (class, weight) pairs.
  sorted_items <- reticulate::py_eval("lambda d: sorted(d.items())")
  items <- function(...) sorted_items(kerasclr:::as_class_weight(...))
  expect_identical(items(c("0" = 1, "2" = 5)), list(list(0L, 1), list(2L, 5)))
  f <- factor(c("a", "b", "c"))
  expect_identical(items(list(c = 3, a = 0.5), f), list(list(0L, 0.5), list(2L, 3)))
  expect_identical(items(c(2, 4)), list(list(0L, 2), list(1L, 4)))
  expect_snapshot(error = TRUE, kerasclr:::as_class_weight(c(setosa = 1), 1:3))
  expect_snapshot(error = TRUE, kerasclr:::as_class_weight(c(d = 1), f))
  expect_snapshot(error = TRUE, kerasclr:::as_class_weight(list(a = "1")))
  expect_snapshot(error = TRUE, kerasclr:::as_class_weight(c("0" = 1, "0" = 2)))
})
