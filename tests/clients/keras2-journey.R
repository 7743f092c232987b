# The old keras R package's user, on Keras 2 (tf_keras, TF_USE_LEGACY_KERAS=1), as in the
# R-bloggers post "Cyclical learning rate with R and Keras": optimizer_sgd(momentum = 0.9) /
# optimizer_rmsprop(), an R generator function or an image generator with fit_generator(),
# callback_cyclic_lr(schedule = ) with a tail, callback_one_cycle(), lr_range_test() on the
# Keras 2 model, fit() with validation_split and callback_model_checkpoint(), and the
# vignette's old recipe (callback_lambda() + k_set_value()) as a reference.
#
# Each step prints PASS / FAIL (with the error) / SKIP / INFO and the journey goes on.
# Needs the old keras package (2.x) and kerasclr on the library path; skips (status 0)
# without them. See tests/clients/README.md. Not part of scripts/test.sh or CI.

# Run with Rscript: journey-steps.R lies next to this file and defines `repo`, the checkout.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))),
                 "journey-steps.R"))

out <- start_journey("keras2-journey", c("keras", "kerasclr"),
                     "put a library with the old keras package (2.x) and one with kerasclr on R_LIBS")
if (packageVersion("keras") >= "3") {
  cat("SKIP keras2-journey: the keras package on the library path is not the old one (2.x)\n")
  quit(save = "no", status = 0)
}
Sys.setenv(TF_USE_LEGACY_KERAS = "1")   # before anything loads TensorFlow: tf.keras is tf_keras
attach_packages("keras2-journey", "keras")

digits <- step("load sklearn's digits as R data; keras is tf_keras (Keras 2)", {
  d <- reticulate::import("sklearn.datasets")$load_digits()
  check(is.matrix(d$data), "digits$data is not an R matrix")
  version <- as.character(keras:::keras_version())
  sgd <- as.character(reticulate::py_to_r(reticulate::py_get_attr(keras$optimizers$SGD, "__module__")))
  cat(sprintf("      Python %s, keras_version() %s, TensorFlow %s, SGD from %s\n",
              reticulate::py_config()$version, version, tensorflow::tf_version(), sgd))
  check(startsWith(sgd, "tf_keras."), "keras$optimizers$SGD is not tf_keras's: ", sgd)
  d
})
x <- digits$data / 16
y <- as.integer(digits$target)
y_onehot <- to_categorical(y, 10)
set.seed(6)
val <- sample(nrow(x), 297)
x_train <- x[-val, ]
y_train <- y_onehot[-val, ]
batch_size <- 32
n <- nrow(x_train) %/% batch_size   # steps per epoch, 46
nb_epochs <- 3

# The blog's fit_generator() input: an R function that returns list(x_batch, y_batch).
batch_generator <- function(x, y, batch_size = 32) {
  order <- sample(nrow(x))
  i <- 0
  function() {
    if (i + batch_size > length(order)) {
      order <<- sample(nrow(x))
      i <<- 0
    }
    rows <- order[i + seq_len(batch_size)]
    i <<- i + batch_size
    list(x[rows, , drop = FALSE], y[rows, , drop = FALSE])
  }
}
new_model <- function(optimizer = optimizer_sgd(momentum = 0.9)) {
  tensorflow::set_random_seed(1)
  model <- keras_model_sequential() %>%
    layer_dense(units = 64, activation = "relu", input_shape = 64) %>%
    layer_dense(units = 10, activation = "softmax")
  model %>% compile(optimizer = optimizer, loss = "categorical_crossentropy",
                    metrics = "categorical_accuracy")
  model
}
fit_blog <- function(model, callbacks, epochs = nb_epochs) {
  model %>% fit_generator(
    batch_generator(x_train, y_train), steps_per_epoch = n, epochs = epochs,
    callbacks = callbacks, validation_data = batch_generator(x[val, ], y_onehot[val, ]),
    validation_steps = 4, verbose = 0)
}
slow_warning <- function() grep("slow compared to the batch time", py_log("messages"), value = TRUE)
# kerasclr's callbacks have no per-batch hook (the train step records the history). tf_keras's
# slow-callback warning can still come from the keras package's own RCallback, which
# fit_generator() adds and which calls R at every batch: it is reported, not counted.
no_batch_hooks <- function(cb) {
  check(!isTRUE(reticulate::py_to_r(cb$`_implements_train_batch_hooks`())),
        "kerasclr's callback has per-batch hooks")
  slow <- slow_warning()
  if (length(slow)) cat("      note: tf_keras warned (the keras package's RCallback runs per batch):",
                        slow[1], "\n")
}
iterations <- function(model) as.integer(model$optimizer$iterations$numpy())

# The blog's schedule: one triangular cycle per epoch of n steps, a 30-step tail (here 5).
l_rate <- rep(cyclic_lr(0:(n - 1), base_lr = 1e-7, max_lr = 1e-3, step_size = floor(n / 2),
                        tail = 5), nb_epochs)

# ---------------------------------------------------------------------------------------
# 0. The blog's own recipe (vignette migrating.Rmd, chunk old-recipe): the set-up works.
# ---------------------------------------------------------------------------------------
step_info("vignette migrating.Rmd, chunk old-recipe (callback_lambda() + k_set_value(), fit_generator())", {
  env <- new.env(parent = globalenv())
  env$l_rate_cyclical <- l_rate[seq_len(n)]
  env$nb_epochs <- nb_epochs
  env$n <- n
  env$callback_lr_init <- function(logs) {   # the blog's, as it was
    env$iter <- 0
    env$lr_hist <- c()
    env$iter_hist <- c()
  }
  env$model <- new_model(optimizer_rmsprop(learning_rate = 1e-5))
  env$train_generator <- batch_generator(x_train, y_train)
  # The chunk gives no validation_steps: its validation data must end (the blog's was an
  # image generator of known length), so a tf.data dataset stands in here.
  env$validation_generator <- tensorflow::tf$data$Dataset$from_tensor_slices(reticulate::tuple(
    reticulate::np_array(x[val, ], dtype = "float32"),
    reticulate::np_array(y_onehot[val, ], dtype = "float32")))$batch(32L)
  eval_lines(rmd_chunk(file.path(repo, "vignettes", "migrating.Rmd"), "old-recipe"), env)
  check(env$iter == n * nb_epochs, "the callback ran ", env$iter, " times")
})

# ---------------------------------------------------------------------------------------
# 1. The callbacks with fit_generator(), as an old-package user writes them.
# ---------------------------------------------------------------------------------------
follow_schedule <- function(keras2) {
  model <- new_model(optimizer_rmsprop(learning_rate = 1e-5))
  clr <- if (keras2) callback_cyclic_lr(schedule = l_rate, keras2 = TRUE) else
    callback_cyclic_lr(schedule = l_rate)
  history <- fit_blog(model, list(clr))
  recorded <- as.data.frame(clr)
  check(nrow(recorded) == n * nb_epochs, "recorded ", nrow(recorded), " steps")
  check_close(recorded$learning_rate, l_rate[recorded$iteration + 1], "learning rate")
  no_batch_hooks(clr)
  plot(history)
  plot(clr, log_lr = TRUE)
}
step("optimizer_rmsprop() + fit_generator(R function, callbacks = list(callback_cyclic_lr(schedule = l_rate)))",
     follow_schedule(keras2 = FALSE))
# The `keras2 = TRUE` flag that kerasclr 0.1.0 asks for, while it exists (for comparison).
has_keras2_flag <- "keras2" %in% names(formals(callback_cyclic_lr))
step_keras2 <- function(name, code) {
  if (!has_keras2_flag) return(step_skip(name, "kerasclr's callbacks have no `keras2` argument"))
  eval(call("step_info", name, substitute(code)), parent.frame())
}
step_keras2("the same with callback_cyclic_lr(schedule = l_rate, keras2 = TRUE)",
            follow_schedule(keras2 = TRUE))

cycle_with_momentum <- function(optimizer, ...) {
  model <- new_model(optimizer)
  clr <- callback_cyclic_lr(base_lr = 1e-3, max_lr = 0.1, step_size = floor(n / 2), tail = 5,
                            momentum = c(0.95, 0.85), ...)
  fit_blog(model, list(clr))
  recorded <- as.data.frame(clr)
  expected <- cyclic_lr(recorded$iteration, base_lr = 1e-3, max_lr = 0.1,
                        step_size = floor(n / 2), tail = 5, momentum = c(0.95, 0.85))
  check_close(recorded$learning_rate, expected, "learning rate")
  check_close(recorded$momentum, attr(expected, "momentum"), "momentum")
  no_batch_hooks(clr)
}
step("optimizer_sgd(momentum = 0.9) + fit_generator() + callback_cyclic_lr(momentum = c(0.95, 0.85))",
     cycle_with_momentum(optimizer_sgd(momentum = 0.9)))

one_cycle_with <- function(optimizer, ...) {
  model <- new_model(optimizer)
  one_cycle <- callback_one_cycle(max_lr = 0.05, ...)
  history <- fit_blog(model, list(one_cycle))
  recorded <- as.data.frame(one_cycle)
  args <- list(...)
  expected <- one_cycle_lr(n * nb_epochs, max_lr = 0.05,
                           momentum = if (is.null(args$momentum)) c(0.95, 0.85) else args$momentum)
  check_close(recorded$learning_rate, expected, "learning rate")
  if (is.null(args$momentum)) {  # the default leaves the optimizer's own momentum alone
    check(all(is.na(recorded$momentum)), "momentum was cycled, but `momentum = NULL` is the default")
  } else {
    check_close(recorded$momentum, attr(expected, "momentum"), "momentum")
  }
  no_batch_hooks(one_cycle)
  plot(one_cycle)
}
step("optimizer_sgd(momentum = 0.9) + fit_generator() + callback_one_cycle(max_lr = 0.05)",
     one_cycle_with(optimizer_sgd(momentum = 0.9)))
step_keras2("the same with callback_one_cycle(max_lr = 0.05, keras2 = TRUE)",
            one_cycle_with(optimizer_sgd(momentum = 0.9), keras2 = TRUE))
step("optimizer_rmsprop(momentum = 0.9) + fit_generator() + callback_one_cycle()",
     one_cycle_with(optimizer_rmsprop(momentum = 0.9)))
step("optimizer_adam() + fit_generator() + callback_one_cycle(momentum = c(0.95, 0.85)) (cycles beta_1)",
     one_cycle_with(optimizer_adam(), momentum = c(0.95, 0.85)))

# ---------------------------------------------------------------------------------------
# 2. fit() with arrays: validation_split, callback_model_checkpoint(), two fits, plot().
# ---------------------------------------------------------------------------------------
model <- new_model()
ckpt_dir <- file.path(out, "checkpoints")
unlink(ckpt_dir, recursive = TRUE)
dir.create(ckpt_dir)
steps_per_epoch <- ceiling(floor(nrow(x) * 0.8) / 32)   # 45
clr <- NULL
step("fit(validation_split = 0.2, callbacks = list(callback_cyclic_lr(), callback_model_checkpoint()))", {
  clr <- callback_cyclic_lr(base_lr = 0.01, max_lr = 0.1, step_size = steps_per_epoch)
  history <- model %>% fit(x, y_onehot, validation_split = 0.2, epochs = 2, batch_size = 32,
                           verbose = 0, callbacks = list(clr, callback_model_checkpoint(
                             file.path(ckpt_dir, "digits-{epoch:02d}.h5"))))
  check("val_loss" %in% names(history$metrics), "no val_loss in the history")
  no_batch_hooks(clr)
  check(length(list.files(ckpt_dir)) == 2, "expected 2 checkpoints, found ",
        paste(list.files(ckpt_dir), collapse = ", "))
  plot(history)
})
step("second fit() with callback_one_cycle(): continues from step 90, plot()", {
  one_cycle <- callback_one_cycle(max_lr = 0.1)
  history <- model %>% fit(x, y_onehot, validation_split = 0.2, epochs = 2, batch_size = 32,
                           verbose = 0, callbacks = list(one_cycle))
  recorded <- as.data.frame(one_cycle)
  check(recorded$iteration[1] == 2 * steps_per_epoch, "first iteration ", recorded$iteration[1])
  check_close(recorded$learning_rate, one_cycle_lr(2 * steps_per_epoch, max_lr = 0.1),
              "learning rate")
  plot(history)
})
step("save_model_hdf5() after fit() with a kerasclr callback, load_model_hdf5() in a fresh Rscript", {
  check(iterations(model) > 0, "the model was not trained by the fit() steps above")
  saved <- file.path(out, "digits-keras2.h5")
  save_model_hdf5(model, saved)
  code <- c('Sys.setenv(TF_USE_LEGACY_KERAS = "1")', "library(keras)", "library(kerasclr)",
            sprintf("m <- load_model_hdf5(%s)", deparse(saved)),
            'cat("iterations", as.integer(m$optimizer$iterations$numpy()), "\\n")')
  output <- run_fresh_r(code, out, "fresh-keras2-load")
  check(any(grepl(sprintf("^iterations %d", iterations(model)), output)),
        "unexpected output: ", paste(utils::tail(output, 2), collapse = " | "))
})

step_keras2("arrays fit() with callback_cyclic_lr(keras2 = TRUE): no tf_keras slow-callback warning", {
  fast <- new_model()
  fast %>% fit(x, y_onehot, epochs = 3, batch_size = 32, verbose = 0, callbacks = list(
    callback_cyclic_lr(base_lr = 0.01, max_lr = 0.1, step_size = 50, keras2 = TRUE)))
  check(length(slow_warning()) == 0, "tf_keras warned: ", slow_warning()[1])
})

# ---------------------------------------------------------------------------------------
# 3. lr_range_test() on the Keras 2 model: arrays, an R generator function, tf.data.
# ---------------------------------------------------------------------------------------
range_test_restores <- function(x, y = NULL, ...) {
  model <- new_model()
  model %>% fit(x_train, y_train, epochs = 1, batch_size = 32, verbose = 0)  # optimizer state
  before <- get_weights(model)
  optimizer_state <- function() {
    reticulate::iterate(model$optimizer$variables, function(v) v$numpy())
  }
  slots_before <- optimizer_state()
  res <- lr_range_test(model, x, y, start_lr = 1e-4, end_lr = 1, num_iter = 30,
                       verbose = FALSE, ...)
  check(inherits(res, "lr_range_test"), "not an lr_range_test result")
  check(all(is.finite(res$history$loss[1:10])), "the first losses are not finite")
  check(identical(get_weights(model), before), "the weights were not restored exactly")
  slots_after <- optimizer_state()
  check(identical(slots_after, slots_before), "the optimizer state was not restored exactly")
  print(res)
  plot(res)
  res
}
step("lr_range_test(model, x, y) on a compiled Keras 2 model (R matrix, one-hot R matrix)",
     range_test_restores(x_train, y_train))
step("lr_range_test(model, <R generator function>) as fit_generator() takes it",
     range_test_restores(batch_generator(x_train, y_train)))
step("lr_range_test(model, <tf.data dataset>)", {
  tf <- tensorflow::tf
  ds <- tf$data$Dataset$from_tensor_slices(reticulate::tuple(
    reticulate::np_array(x_train, dtype = "float32"),
    reticulate::np_array(y_train, dtype = "float32")))$batch(32L)
  range_test_restores(ds)
})
step("callback_one_cycle(max_lr = <the Keras 2 range test>) with fit_generator()", {
  model <- new_model()
  res <- lr_range_test(model, x_train, y_train, num_iter = 50, verbose = FALSE)
  one_cycle <- callback_one_cycle(max_lr = res)
  fit_blog(model, list(one_cycle))
  check_close(as.data.frame(one_cycle)$learning_rate,
              one_cycle_lr(n * nb_epochs, max_lr = res$lr_range[["max_lr"]]), "learning rate")
})
step_info("learning_rate_schedule_cyclic() inside a Keras 2 optimizer_sgd()", {
  model <- new_model(optimizer_sgd(learning_rate = learning_rate_schedule_cyclic(
    base_lr = 0.01, max_lr = 0.1, step_size = n), momentum = 0.9))
  fit_blog(model, list())
})

# ---------------------------------------------------------------------------------------
# 4. The blog's image pipeline in miniature: a folder of JPEGs, image_data_generator(),
#    flow_images_from_dataframe(), EfficientNet-B0 (weights = NULL standing in for ImageNet)
#    frozen, fit_generator() with callback_cyclic_lr(), then unfreeze and max_lr / 5.
# ---------------------------------------------------------------------------------------
image_path <- file.path(out, "cassava-leaf-disease-classification", "train_images")
unlink(dirname(image_path), recursive = TRUE)
classes <- c("CBB", "CBSD", "CGM", "CMD", "Healthy")
files <- write_image_folder(image_path, classes, per_class = 8, size = 64)
labels <- data.frame(image_id = file.path(basename(dirname(files)), basename(files)),
                     label = rep(seq_along(classes) - 1, each = 8))
for (k in seq_along(classes)) labels[[classes[k]]] <- as.numeric(labels$label == k - 1)
conv_base <- NULL
blog_model <- NULL
image_steps <- 4
step("blog: image_data_generator() + flow_images_from_dataframe() + frozen EfficientNet-B0 + fit_generator(callback_cyclic_lr(tail =))", {
  datagen <- image_data_generator(rotation_range = 40, width_shift_range = 0.2,
                                  height_shift_range = 0.2, shear_range = 0.2, zoom_range = 0.5,
                                  horizontal_flip = TRUE, fill_mode = "reflect")
  train_generator <- flow_images_from_dataframe(
    dataframe = labels, directory = image_path, generator = datagen, class_mode = "other",
    x_col = "image_id", y_col = classes, target_size = c(64, 64), batch_size = 8)
  validation_generator <- flow_images_from_dataframe(
    dataframe = labels, directory = image_path, class_mode = "other", x_col = "image_id",
    y_col = classes, target_size = c(64, 64), batch_size = 8)
  conv_base <- application_efficientnet_b0(weights = NULL, include_top = FALSE,
                                            input_shape = c(64, 64, 3))
  freeze_weights(conv_base)
  blog_model <- keras_model_sequential() %>%
    conv_base %>%
    layer_global_max_pooling_2d() %>%
    layer_batch_normalization() %>%
    layer_dropout(rate = 0.5) %>%
    layer_dense(units = 5, activation = "softmax")
  blog_model %>% compile(optimizer = optimizer_rmsprop(learning_rate = 1e-5),
                         loss = "categorical_crossentropy", metrics = "categorical_accuracy")
  clr <- callback_cyclic_lr(base_lr = 1e-7, max_lr = 1e-3, step_size = image_steps / 2, tail = 1)
  history <- blog_model %>% fit_generator(
    train_generator, steps_per_epoch = image_steps, epochs = 2, callbacks = list(clr),
    validation_data = validation_generator, validation_steps = 1, verbose = 0)
  plot(history)
  check_close(as.data.frame(clr)$learning_rate,
              cyclic_lr(0:(2 * image_steps - 1), base_lr = 1e-7, max_lr = 1e-3,
                        step_size = image_steps / 2, tail = 1), "learning rate")


})
step("blog: unfreeze_weights(from = 'block5a_expand_conv'), compile(), fit_generator() with max_lr / 5", {
  check(!is.null(blog_model), "no model from the previous step")
  unfreeze_weights(conv_base, from = "block5a_expand_conv")
  blog_model %>% compile(optimizer = optimizer_rmsprop(learning_rate = 1e-5),
                         loss = "categorical_crossentropy", metrics = "categorical_accuracy")
  clr_fine <- callback_cyclic_lr(base_lr = 1e-7, max_lr = 1e-3 / 5, step_size = image_steps / 2,
                                 tail = 1)
  history <- blog_model %>% fit_generator(
    train_generator, steps_per_epoch = image_steps, epochs = 2, callbacks = list(clr_fine),
    validation_data = validation_generator, validation_steps = 1, verbose = 0)
  plot(history)
  recorded <- as.data.frame(clr_fine)
  check_close(recorded$learning_rate,
              cyclic_lr(recorded$iteration, base_lr = 1e-7, max_lr = 1e-3 / 5,
                        step_size = image_steps / 2, tail = 1), "learning rate")
})

invisible(grDevices::dev.off())
finish_journey("keras2-journey", out)
