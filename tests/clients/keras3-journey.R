# The keras3 user's path through kerasclr, end to end, with the real keras3 R package:
# R data (matrices, integer and logical labels, factors, data frames, tfdatasets datasets),
# lr_range_test(), fit() with the callbacks, validation_split, callback_model_checkpoint()
# and plot(), a schedule inside the optimizer saved and reloaded in fresh processes, the
# README's R code and every `eval = FALSE` keras3 chunk of the vignettes, as written.
#
# Each step prints PASS / FAIL (with the error) / SKIP / INFO and the journey goes on.
# Needs keras3 and kerasclr on the library path; skips (status 0) without them.
# See tests/clients/README.md. Not part of scripts/test.sh or CI.

# Run with Rscript: journey-steps.R lies next to this file and defines `repo`, the checkout.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))),
                 "journey-steps.R"))

out <- start_journey("keras3-journey", c("keras3", "kerasclr"),
                     "put a library with keras3 and one with kerasclr on R_LIBS")
# The EfficientNet chunks run their fit() calls for 1 epoch of 2 steps unless this is "1".
full_length <- identical(Sys.getenv("KERASCLR_JOURNEY_FULL"), "1")
attach_packages("keras3-journey", "keras3")

# ---------------------------------------------------------------------------------------
# Data and model as a keras3 user has them: an R matrix and R integer class labels.
# ---------------------------------------------------------------------------------------
digits <- step("load sklearn's digits as R data", {
  d <- reticulate::import("sklearn.datasets")$load_digits()
  check(is.matrix(d$data), "digits$data is not an R matrix")
  d
})
cat(sprintf("  Python %s, Keras %s, backend %s\n", reticulate::py_config()$version,
            reticulate::import("keras")$`__version__`, config_backend()))
x <- digits$data / 16
y <- as.integer(digits$target)
n_train <- floor(nrow(x) * 0.8)            # what validation_split = 0.2 leaves
steps_per_epoch <- ceiling(n_train / 32)   # 45

new_model <- function(optimizer = optimizer_sgd(momentum = 0.9), units = 10,
                      activation = "softmax", loss = "sparse_categorical_crossentropy") {
  set_random_seed(1)
  model <- keras_model_sequential(input_shape = 64) |>
    layer_dense(64, activation = "relu") |>
    layer_dense(units, activation = activation)
  model |> compile(optimizer = optimizer, loss = loss, metrics = "accuracy")
  model
}
model <- new_model()
weights_before <- get_weights(model)

# ---------------------------------------------------------------------------------------
# 1. The range test, then two fit() calls with the callbacks.
# ---------------------------------------------------------------------------------------
rt <- step("lr_range_test(model, x, y): R matrix x, R integer labels y", {
  res <- lr_range_test(model, x, y)
  check(inherits(res, "lr_range_test"), "not an lr_range_test result")
  check(identical(get_weights(model), weights_before), "the weights were not restored exactly")
  check(as.integer(reticulate::py_to_r(op_convert_to_numpy(model$optimizer$iterations))) == 0L,
        "the optimizer's iteration count was not restored")
  res
})
if (is.null(rt)) {
  rt <- step("lr_range_test() with y as a NumPy int32 array instead (workaround)", {
    lr_range_test(model, x, reticulate::np_array(y, dtype = "int32"), verbose = FALSE)
  })
}
max_lr <- if (!is.null(rt)) rt$lr_range[["max_lr"]] else 0.1
base_lr <- if (!is.null(rt)) rt$lr_range[["base_lr"]] else 0.025
range_arg <- if (!is.null(rt)) rt else c(base_lr, max_lr)
if (is.null(rt)) cat("  (no range-test result: the callbacks below use c(0.025, 0.1))\n")

step("print() and plot() the range test", {
  check(!is.null(rt), "no range-test result")
  print(rt)
  plot(rt)
})

ckpt_dir <- file.path(out, "checkpoints")
unlink(ckpt_dir, recursive = TRUE)
dir.create(ckpt_dir)
one_cycle <- NULL
history <- step(paste("fit(validation_split = 0.2, epochs = 4, callbacks = list(callback_one_cycle(max_lr = rt),",
                      "callback_model_checkpoint()))"), {
  one_cycle <- callback_one_cycle(max_lr = range_arg)
  h <- model |> fit(x, y, validation_split = 0.2, epochs = 4, batch_size = 32,
                    callbacks = list(one_cycle, callback_model_checkpoint(
                      file.path(ckpt_dir, "digits-{epoch:02d}.keras"))))
  check(all(c("loss", "val_loss", "accuracy", "val_accuracy") %in% names(h$metrics)),
        "history metrics: ", paste(names(h$metrics), collapse = ", "))
  check("learning_rate" %in% names(h$metrics), "no learning_rate in the keras3 history")
  check(length(list.files(ckpt_dir, "\\.keras$")) == 4, "expected 4 checkpoint files, found ",
        paste(list.files(ckpt_dir), collapse = ", "))
  h
})
step("callback_one_cycle() followed one_cycle_lr() step by step (momentum left alone by default)", {
  check(!is.null(one_cycle), "no callback")
  recorded <- as.data.frame(one_cycle)
  check(nrow(recorded) == 4 * steps_per_epoch, "recorded ", nrow(recorded), " steps, expected ",
        4 * steps_per_epoch)
  check(all(recorded$iteration == 0:(4 * steps_per_epoch - 1)), "iterations are not 0..179")
  expected <- one_cycle_lr(4 * steps_per_epoch, max_lr = max_lr)
  check_close(recorded$learning_rate, expected, "learning rate")
  check(all(is.na(recorded$momentum)), "momentum was cycled, but `momentum = NULL` is the default")
})
step("plot() of the keras3 history (with the logged learning_rate)", {
  check(!is.null(history), "no history")
  print(plot(history))
})
step("plot() of callback_one_cycle()", {
  check(!is.null(one_cycle), "no callback")
  plot(one_cycle)
})
step("load_model() of a checkpoint in the same session, evaluate()", {
  ckpt <- file.path(ckpt_dir, "digits-04.keras")
  loaded <- load_model(ckpt)
  score <- evaluate(loaded, x, y, verbose = 0)
  check(score[["accuracy"]] > 0.5, "accuracy of the checkpoint: ", score[["accuracy"]])
})

clr <- NULL
history_2 <- step("second fit() with callback_cyclic_lr(lr_range = rt, step_size = 90, tail = 10)", {
  clr <- callback_cyclic_lr(lr_range = range_arg, step_size = 2 * steps_per_epoch, tail = 10)
  h <- model |> fit(x, y, validation_split = 0.2, epochs = 4, batch_size = 32,
                    callbacks = list(clr))
  check("learning_rate" %in% names(h$metrics), "no learning_rate in the keras3 history")
  h
})
step("callback_cyclic_lr() continued from the optimizer's step 180 with cyclic_lr()'s values", {
  check(!is.null(clr), "no callback")
  recorded <- as.data.frame(clr)
  first <- 4L * steps_per_epoch
  check(length(recorded$iteration) == first && all(recorded$iteration == first + 0:(first - 1)),
        "iterations are ", min(recorded$iteration), "..", max(recorded$iteration),
        ", expected ", first, "..", 2 * first - 1)
  check_close(recorded$learning_rate,
              cyclic_lr(recorded$iteration, base_lr = base_lr, max_lr = max_lr,
                        step_size = 2 * steps_per_epoch, tail = 10), "learning rate")
})
step("plot() of the second history and of callback_cyclic_lr()", {
  check(!is.null(history_2) && !is.null(clr), "no history or callback")
  print(plot(history_2))
  plot(clr, log_lr = TRUE)
})

# ---------------------------------------------------------------------------------------
# 2. R data as R users have it. keras3's own rules (its fit()'s input_data_normalizer()):
#    factors become their 0-based codes, doubles the model's float type, R functions batch
#    generators. Each curve is compared with the one of the same model (restored after every
#    test) on the same batches (shuffle = FALSE) with NumPy data made by hand.
# ---------------------------------------------------------------------------------------
x_np <- reticulate::np_array(x, dtype = "float32")
y_np <- reticulate::np_array(y, dtype = "int32")
probe <- new_model()
loss_curve <- function(model, x, y = NULL, ...) {
  res <- lr_range_test(model, x, y, start_lr = 1e-4, end_lr = 1, num_iter = 30,
                       verbose = FALSE, shuffle = FALSE, ...)
  check(inherits(res, "lr_range_test"), "not an lr_range_test result")
  res$history$loss
}
reference <- step("lr_range_test() with NumPy float32 x and int32 y made by hand (the reference curve)", {
  curve <- loss_curve(probe, x_np, y_np)
  check(all(is.finite(curve[1:10])), "the first losses are not finite")
  curve
})
same_curve <- function(curve, what) {
  check(!is.null(reference), "no reference curve")
  check_close(curve, reference, what, tolerance = 1e-6)
}
integer_y_ok <- "PASS" == journey$results$status[
  journey$results$step == "lr_range_test(model, x, y): R matrix x, R integer labels y"]
y_for_x <- if (integer_y_ok) y else y_np
labels_note <- if (integer_y_ok) "R integer labels" else
  "labels as NumPy int32, since R integer labels failed above"

step("lr_range_test() with R integer labels: the reference curve", {
  same_curve(loss_curve(probe, x, y), "loss")
})
digit_names <- c("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
y_factor <- factor(digit_names[y + 1], levels = digit_names)
step("lr_range_test() with factor labels (levels zero..nine): the curve of their 0-based codes", {
  same_curve(loss_curve(probe, x, y_factor), "loss")
})
step("lr_range_test() with double labels (as.numeric(y)): the reference curve", {
  same_curve(loss_curve(probe, x, as.numeric(y)), "loss")
})
step("lr_range_test() with a one-column integer matrix of labels: the reference curve", {
  same_curve(loss_curve(probe, x, matrix(y)), "loss")
})
binary <- new_model(units = 1, activation = "sigmoid", loss = "binary_crossentropy")
step("lr_range_test() with logical labels on a binary model: the curve of 0/1 labels", {
  expected <- loss_curve(binary, x_np, reticulate::np_array(as.numeric(y >= 5), dtype = "float32"))
  check_close(loss_curve(binary, x, y >= 5), expected, "loss", tolerance = 1e-6)
})

x_df <- as.data.frame(x)
step(sprintf("lr_range_test() with a data frame of 64 numeric columns as x (%s)", labels_note), {
  same_curve(loss_curve(probe, x_df, y_for_x), "loss")
})
step_info("keras3 alone: fit() with a data frame x (keras3 passes its columns as separate inputs)", {
  fit(new_model(), x_df, y, epochs = 1, verbose = 0)
})
x_bad <- x_df
x_bad$source <- rep(c("scan", "photo"), length.out = nrow(x_bad))
step_error("lr_range_test() with a character column in the data frame: R error naming `x` and the column",
           loss_curve(probe, x_bad, y_for_x), c("`x`", "source"))
step(sprintf("lr_range_test() with an R integer matrix x (%s)", labels_note), {
  x_int <- matrix(as.integer(digits$data), nrow = nrow(digits$data))
  expected <- loss_curve(probe, reticulate::np_array(x_int, dtype = "float32"), y_np)
  check_close(loss_curve(probe, x_int, y_for_x), expected, "loss", tolerance = 1e-6)
})
step(sprintf("lr_range_test() with a list of two R matrices for a two-input model (%s)", labels_note), {
  set_random_seed(1)
  left <- keras_input(shape = 32)
  right <- keras_input(shape = 32)
  outputs <- layer_concatenate(list(left, right)) |>
    layer_dense(32, activation = "relu") |>
    layer_dense(10, activation = "softmax")
  two_input <- keras_model(list(left, right), outputs)
  two_input |> compile(optimizer = optimizer_sgd(momentum = 0.9),
                       loss = "sparse_categorical_crossentropy")
  halves <- list(x[, 1:32], x[, 33:64])
  expected <- loss_curve(two_input, lapply(halves, reticulate::np_array, dtype = "float32"), y_np)
  check_close(loss_curve(two_input, halves, y_for_x), expected, "loss", tolerance = 1e-6)
})
val <- seq(1, nrow(x), by = 5)
step("lr_range_test() with validation_data = list(R matrix, R integer vector)", {
  res <- lr_range_test(probe, x[-val, ], y[-val], validation_data = list(x[val, ], y[val]),
                       start_lr = 1e-4, end_lr = 1, num_iter = 30, verbose = FALSE)
  check("val_loss" %in% names(res$history) && all(is.finite(res$history$val_loss[1:10])),
        "no finite val_loss column")
})
if (requireNamespace("tfdatasets", quietly = TRUE)) {
  step("lr_range_test() with a tfdatasets dataset of R data (tensor_slices_dataset() |> dataset_batch())", {
    ds <- tfdatasets::tensor_slices_dataset(list(x, y)) |> tfdatasets::dataset_batch(32)
    same_curve(loss_curve(probe, ds), "loss")
  })
} else {
  step_skip("lr_range_test() with a tfdatasets dataset", "tfdatasets is not installed")
}
# An R function returning list(x_batch, y_batch): what keras3's fit() takes as a generator.
batch_function <- function(batch_size = 32) {
  start <- 0
  function() {
    rows <- (start + seq_len(batch_size) - 1) %% nrow(x) + 1
    start <<- start + batch_size
    list(x[rows, , drop = FALSE], y[rows])
  }
}
step_info("keras3 alone: fit() with an R generator function as x", {
  fit(new_model(), batch_function(), steps_per_epoch = 10, epochs = 1, verbose = 0)
})
step("lr_range_test() with an R generator function as x, as keras3's fit() takes it", {
  # Its batches are those of the arrays with shuffle = FALSE: the same curve.
  same_curve(loss_curve(probe, batch_function()), "loss")
})
step_error("lr_range_test() with y one sample short: R error naming `y`",
           loss_curve(probe, x, y[-1]), "`y`")
step_error("callback_one_cycle(max_lr = NULL): R error naming `max_lr`",
           callback_one_cycle(max_lr = NULL), "`max_lr`")
step_error("callback_cyclic_lr(lr_range = c(0.1, 0.01)): R error naming `lr_range`",
           callback_cyclic_lr(lr_range = c(0.1, 0.01)), "`lr_range`")

# ---------------------------------------------------------------------------------------
# 3. A schedule inside the optimizer, saved, and reloaded in fresh processes.
# ---------------------------------------------------------------------------------------
steps_full <- ceiling(nrow(x) / 32)   # 57 steps per epoch on all of x
saved <- file.path(out, "digits-cyclic-schedule.keras")
data_file <- file.path(out, "digits.rds")
saveRDS(list(x = x, y = y), data_file)
continued <- step("optimizer_sgd(learning_rate = learning_rate_schedule_cyclic()), fit(), save_model()", {
  schedule <- learning_rate_schedule_cyclic(base_lr = 0.01, max_lr = 0.1, step_size = steps_full)
  scheduled <- new_model(optimizer_sgd(learning_rate = schedule, momentum = 0.9))
  fit(scheduled, x, y, epochs = 2, batch_size = 32, shuffle = FALSE, verbose = 0)
  save_model(scheduled, saved, overwrite = TRUE)
  check(file.exists(saved), "no file saved")
  # Continue here too, for comparison with the fresh processes.
  fit(scheduled, x, y, epochs = 1, batch_size = 32, shuffle = FALSE, verbose = 0)
  get_weights(scheduled)
})

fresh_r_continue <- function(name, load_call, result) {
  code <- c(
    "library(keras3)",
    "library(kerasclr)",
    sprintf("d <- readRDS(%s)", deparse(data_file)),
    sprintf("m <- %s", load_call),
    "it <- as.integer(reticulate::py_to_r(op_convert_to_numpy(m$optimizer$iterations)))",
    "lr <- as.numeric(op_convert_to_numpy(m$optimizer$learning_rate))",
    "fit(m, d$x, d$y, epochs = 1, batch_size = 32, shuffle = FALSE, verbose = 0)",
    sprintf("saveRDS(list(iterations = it, lr = lr, weights = get_weights(m)), %s)",
            deparse(result)))
  run_fresh_r(code, out, name)
  readRDS(result)
}
check_continued <- function(got) {
  check(got$iterations == 2L * steps_full, "reloaded optimizer at step ", got$iterations,
        ", expected ", 2 * steps_full)
  check_close(got$lr, cyclic_lr(2 * steps_full, base_lr = 0.01, max_lr = 0.1,
                                step_size = steps_full), "learning rate after reloading")
  check(!is.null(continued), "no in-session run to compare with")
  diff <- max(mapply(function(a, b) max(abs(a - b)), got$weights, continued))
  cat(sprintf("      largest weight difference to the in-session continuation: %.3g\n", diff))
  check(diff <= 1e-6, "training did not continue as in the saving session (difference ", diff, ")")
}
step("fresh Rscript: library(kerasclr); keras3::load_model() continues the schedule exactly", {
  check_continued(fresh_r_continue("fresh-keras3-load-model", sprintf("load_model(%s)", deparse(saved)),
                                   file.path(out, "fresh-keras3.rds")))
})
step("fresh Rscript: library(kerasclr); keras$saving$load_model() continues the schedule exactly", {
  check_continued(fresh_r_continue(
    "fresh-py-load-model",
    sprintf('reticulate::import("keras")$saving$load_model(%s)', deparse(saved)),
    file.path(out, "fresh-py.rds")))
})
step("fresh Python process: import kerasclr; keras.saving.load_model() and fit()", {
  code <- c(
    "import kerasclr",
    "import keras, numpy as np",
    sprintf("m = keras.saving.load_model(%s)", deparse(saved)),
    "print('iterations', int(keras.ops.convert_to_numpy(m.optimizer.iterations)))",
    "x = np.random.default_rng(0).random((64, 64), dtype='float32')",
    "m.fit(x, np.arange(64) % 10, epochs=1, verbose=0)",
    "print('ok')")
  env <- c(sprintf("PYTHONPATH=%s", system.file("python", package = "kerasclr")),
           sprintf("KERAS_BACKEND=%s", config_backend()))
  output <- run_fresh_python(code, out, "fresh-python-load-model", env)
  check(any(output == sprintf("iterations %d", 2L * steps_full)), "unexpected output: ",
        paste(utils::tail(output, 3), collapse = " | "))
})
step("fresh Rscript: library(kerasclr); load_model() of the one-cycle checkpoint, fit() on with callback_cyclic_lr()", {
  ckpt <- file.path(ckpt_dir, "digits-04.keras")
  result <- file.path(out, "fresh-checkpoint.rds")
  code <- c(
    "library(keras3)",
    "library(kerasclr)",
    sprintf("d <- readRDS(%s)", deparse(data_file)),
    sprintf("m <- load_model(%s)", deparse(ckpt)),
    "clr <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.1, step_size = 20)",
    "fit(m, d$x, d$y, epochs = 1, batch_size = 32, verbose = 0, callbacks = list(clr))",
    sprintf("saveRDS(as.data.frame(clr), %s)", deparse(result)))
  run_fresh_r(code, out, "fresh-checkpoint")
  recorded <- readRDS(result)
  check(recorded$iteration[1] == 4L * steps_per_epoch, "the reloaded optimizer started at step ",
        recorded$iteration[1], ", expected ", 4 * steps_per_epoch)
  check_close(recorded$learning_rate,
              cyclic_lr(recorded$iteration, base_lr = 0.01, max_lr = 0.1, step_size = 20),
              "learning rate")
})

# ---------------------------------------------------------------------------------------
# 4. The README's R code, as written.
# ---------------------------------------------------------------------------------------
readme_blocks <- md_r_blocks(file.path(repo, "README.md"))
for (i in seq_along(readme_blocks)) {
  block <- readme_blocks[[i]]
  name <- sprintf("README R block %d (%s)", i, trimws(block[1]))
  if (any(grepl("install.packages|install_kerasclr\\(", block))) {
    step_skip(name, "installs packages; the journey's libraries are set up already")
    next
  }
  if (trimws(block[1]) == "# train.R") {
    # The README's multi-process script: run as the README says, two processes.
    step(name, {
      dir <- tempfile("train-r-")
      dir.create(dir)
      writeLines(block, file.path(dir, "train.R"))
      status <- system2("bash", c("-c", shQuote(sprintf(
        "cd %s && (Rscript train.R 0 & Rscript train.R 1; wait) > log.txt 2>&1", dir))))
      check(status == 0 && !any(grepl("^Error", readLines(file.path(dir, "log.txt")))),
            "Rscript train.R 0 & Rscript train.R 1 failed: ",
            paste(tail(readLines(file.path(dir, "log.txt")), 5), collapse = "\n"))
    })
    next
  }
  readme_env <- new.env(parent = globalenv())
  step(name, eval_lines(block, readme_env))
}

# ---------------------------------------------------------------------------------------
# 5. The vignettes' `eval = FALSE` keras3 chunks, as written, with stand-ins for the data
#    (a small image folder, digits datasets) and the ImageNet weights (weights = NULL).
# ---------------------------------------------------------------------------------------
vignette_file <- function(name) file.path(repo, "vignettes", name)
# The eval = FALSE chunks this journey knows how to run, and those that are not keras3 code.
known_chunks <- list(
  "efficientnet-fine-tuning.Rmd" = c("real-data", "real-stage-1", "real-stage-2"),
  "migrating.Rmd" = c("blog-keras3"))
not_keras3 <- list("migrating.Rmd" = c(old_recipe = "old-recipe"))  # Keras 2: keras2-journey.R
for (file in list.files(file.path(repo, "vignettes"), "\\.Rmd$")) {
  unknown <- setdiff(rmd_unevaluated_chunks(vignette_file(file)),
                     c(known_chunks[[file]], not_keras3[[file]]))
  for (label in unknown) {
    record(sprintf("vignette %s, chunk %s", file, label), "FAIL",
           "an eval = FALSE chunk this journey does not run yet: add its stand-ins here")
  }
}

# EfficientNet: the Cassava folder (5 classes of small JPEGs), ImageNet weights -> NULL, and,
# unless KERASCLR_JOURNEY_FULL=1, fit() for 1 epoch of 2 steps (the chunks ask for 200 x 10).
eff_dir <- file.path(out, "efficientnet")
unlink(eff_dir, recursive = TRUE)
write_image_folder(file.path(eff_dir, "cassava", "train_images"),
                   c("CBB", "CBSD", "CGM", "CMD", "Healthy"), per_class = 4, size = 64)
stand_ins <- function(env) {
  env$application_efficientnet_b0 <- function(weights = "imagenet", ...) {
    keras3::application_efficientnet_b0(weights = NULL, ...)
  }
  if (!full_length) {
    env$fit <- function(object, ..., epochs = 1, steps_per_epoch = NULL, validation_steps = NULL) {
      keras3::fit(object, ..., epochs = min(epochs, 1),
                  steps_per_epoch = if (!is.null(steps_per_epoch)) min(steps_per_epoch, 2),
                  validation_steps = if (!is.null(validation_steps)) min(validation_steps, 1))
    }
  }
  env
}
if (!full_length) cat("  (the EfficientNet chunks' fit() calls are cut to 1 epoch of 2 steps;",
                      "KERASCLR_JOURNEY_FULL=1 runs them at their own length)\n")
# Runs the chunks in `env`; TRUE for each chunk that ran through.
run_chunks <- function(env, labels, suffix = "") {
  old <- setwd(eff_dir)
  on.exit(setwd(old))
  vapply(labels, function(label) {
    name <- sprintf("vignette efficientnet-fine-tuning.Rmd, chunk %s%s", label, suffix)
    step(name, eval_lines(rmd_chunk(vignette_file("efficientnet-fine-tuning.Rmd"), label), env))
    utils::tail(journey$results$status, 1) == "PASS"
  }, logical(1))
}
eff_env <- stand_ins(new.env(parent = globalenv()))
ran <- run_chunks(eff_env, c("real-data", "real-stage-1", "real-stage-2"))
if (ran[["real-data"]] && !ran[["real-stage-1"]] && requireNamespace("tfdatasets", quietly = TRUE)) {
  # To see whether the rest of the chunks runs once `dataset_repeat()` exists.
  eff_env_2 <- stand_ins(new.env(parent = globalenv()))
  eff_env_2$dataset_repeat <- tfdatasets::dataset_repeat
  invisible(run_chunks(eff_env_2, c("real-data", "real-stage-1", "real-stage-2"),
                       " (workaround: tfdatasets::dataset_repeat supplied)"))
}

# migrating.Rmd: its chunks up to `blog` as they are evaluated there, then `blog-keras3`
# with a digits model and tf.data datasets standing in for the user's own.
migrate_env <- new.env(parent = globalenv())
step("vignette migrating.Rmd, chunk blog-keras3 (after the vignette's own `blog` chunk)", {
  eval_lines(rmd_chunk(vignette_file("migrating.Rmd"), "blog"), migrate_env)
  migrate_env$model <- new_model(optimizer_rmsprop())
  tf <- tensorflow::tf
  batches <- function(rows) {
    tf$data$Dataset$from_tensor_slices(reticulate::tuple(
      reticulate::np_array(x[rows, ], dtype = "float32"),
      reticulate::np_array(y[rows], dtype = "int32")))$batch(32L)
  }
  migrate_env$train_dataset <- batches(-val)$`repeat`()
  migrate_env$validation_dataset <- batches(val)
  eval_lines(rmd_chunk(vignette_file("migrating.Rmd"), "blog-keras3"), migrate_env)
  recorded <- as.data.frame(migrate_env$clr)
  check(nrow(recorded) == 10 * migrate_env$n, "recorded ", nrow(recorded), " steps")
  check_close(recorded$learning_rate, migrate_env$l_rate[recorded$iteration + 1],
              "learning rate against the schedule vector")
})

# The vignettes' evaluated code, rendered with this reticulate (each in a fresh R process).
if (identical(Sys.getenv("KERASCLR_JOURNEY_RENDER", "1"), "1") &&
    requireNamespace("rmarkdown", quietly = TRUE) && rmarkdown::pandoc_available()) {
  for (file in list.files(file.path(repo, "vignettes"), "\\.Rmd$")) {
    step(sprintf("rmarkdown::render(vignettes/%s) with reticulate %s", file,
                 packageVersion("reticulate")), {
      render_dir <- file.path(out, "rendered")
      dir.create(render_dir, showWarnings = FALSE)
      copy <- file.path(render_dir, file)
      file.copy(vignette_file(file), copy, overwrite = TRUE)
      run_fresh_r(sprintf("rmarkdown::render(%s, quiet = TRUE)", deparse(copy)), out,
                  paste0("render-", sub("\\.Rmd$", "", file)))
    })
  }
} else {
  step_skip("render the vignettes", "KERASCLR_JOURNEY_RENDER is not 1, or no rmarkdown/pandoc")
}

invisible(grDevices::dev.off())
finish_journey("keras3-journey", out)
