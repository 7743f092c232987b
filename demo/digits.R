# kerasclr demo: find a learning-rate range with the range test, then train with the one-cycle
# policy (and a cyclical learning rate) next to the best of a few constant learning rates.
#
# Data: scikit-learn's handwritten digits (1,797 8x8 images that ship with scikit-learn;
# nothing is downloaded). Model: a small MLP 64-128-10 trained with SGD (momentum 0.9).
# Runs in well under a few minutes on 2 CPU cores; seeds are fixed.
#
# Run it with `bash scripts/demo.sh` (sets everything up first), or from R with
# demo("digits", package = "kerasclr"). PNG plots go to the folder in the environment
# variable KERASCLR_DEMO_OUT (default "out/demo").

library(kerasclr)

out_dir <- Sys.getenv("KERASCLR_DEMO_OUT", "out/demo")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
progress <- function(...) {
  cat(sprintf("[demo %s] ", format(Sys.time(), "%H:%M:%S")), sprintf(...), "\n", sep = "")
  utils::flush.console()
}
png_file <- function(name, width = 1000, height = 600) {
  path <- file.path(out_dir, name)
  grDevices::png(path, width = width, height = height, res = 110)
  invisible(path)
}

keras <- reticulate::import("keras")
progress("Keras %s on the %s backend", keras$`__version__`, keras$backend$backend())

# ---- Data: 60% training, 20% validation (to pick the constant rate), 20% test ---------------
digits <- reticulate::import("sklearn.datasets")$load_digits()
x <- digits$data / 16                     # pixel intensities 0..16 -> 0..1
y <- as.integer(digits$target)
set.seed(2017)
idx <- sample(length(y))
n_train <- round(0.6 * length(y))
n_val <- round(0.2 * length(y))
split <- list(train = idx[seq_len(n_train)],
              val = idx[n_train + seq_len(n_val)],
              test = idx[-seq_len(n_train + n_val)])
as_x <- function(i) reticulate::np_array(x[i, , drop = FALSE], dtype = "float32")
as_y <- function(i) reticulate::np_array(y[i], dtype = "int32")
x_train <- as_x(split$train); y_train <- as_y(split$train)
x_val <- as_x(split$val); y_val <- as_y(split$val)
x_test <- as_x(split$test); y_test <- as_y(split$test)
progress("digits: %d training, %d validation, %d test images of 8x8 pixels",
         length(split$train), length(split$val), length(split$test))

batch_size <- 32L
epochs <- 8L
steps_per_epoch <- ceiling(length(split$train) / batch_size)

# The same model, with the same initial weights, for every run.
build_model <- function(learning_rate = 0.01, seed = 42L) {
  keras$utils$set_random_seed(seed)
  model <- keras$Sequential(list(
    keras$Input(shape = list(64L)),
    keras$layers$Dense(128L, activation = "relu"),
    keras$layers$Dense(10L, activation = "softmax")
  ))
  model$compile(
    optimizer = keras$optimizers$SGD(learning_rate = learning_rate, momentum = 0.9),
    loss = "sparse_categorical_crossentropy",
    metrics = list("accuracy")
  )
  model
}

# ---- 1. Schedule preview ------------------------------------------------------------------------
progress("plotting the schedules")
iters <- 0:599
modes <- list(
  list(title = "triangular", args = list(mode = "triangular")),
  list(title = "triangular2", args = list(mode = "triangular2")),
  list(title = "exp_range (gamma = 0.996)", args = list(mode = "exp_range", gamma = 0.996)),
  list(title = "sinus", args = list(mode = "sinus")),
  list(title = "triangular, tail = 30 per cycle", args = list(mode = "triangular", tail = 30))
)
plot_schedule <- function(lr, title, col = "grey30") {
  plot(iters, as.numeric(lr), type = "l", lwd = 2, col = col, main = title,
       xlab = "iteration", ylab = "learning rate")
}
png_file("schedules.png", width = 1200, height = 700)
op <- par(mfrow = c(2, 3), mar = c(4, 4.5, 2.5, 1))
for (m in modes) {
  lr <- do.call(cyclic_lr, c(list(iters, base_lr = 1e-4, max_lr = 1e-2, step_size = 100), m$args))
  plot_schedule(lr, m$title)
}
oc <- one_cycle_lr(600, max_lr = 1e-2)
par(mar = c(4, 4.5, 2.5, 3.5))
plot(0:599, as.numeric(oc), type = "l", lwd = 2, col = "firebrick",
     main = "one_cycle_lr (momentum dashed)", xlab = "iteration", ylab = "learning rate")
par(new = TRUE)
plot(0:599, attr(oc, "momentum"), type = "l", lty = 2, col = "steelblue", axes = FALSE,
     xlab = "", ylab = "")
axis(4, col.axis = "steelblue")
mtext("momentum", side = 4, line = 2.3, cex = 0.7, col = "steelblue")
par(op)
invisible(dev.off())

# The README picture: one cyclical schedule with its tail.
png_file("clr-schedule.png", width = 900, height = 450)
op <- par(mar = c(4, 4.5, 2.5, 1))
clr <- cyclic_lr(0:799, base_lr = 1e-4, max_lr = 1e-2, step_size = 100, mode = "triangular2",
                 tail = 40)
plot(0:799, as.numeric(clr), type = "l", lwd = 2, col = "grey30", xlab = "iteration",
     ylab = "learning rate",
     main = "cyclic_lr(mode = \"triangular2\", step_size = 100, tail = 40)")
par(op)
invisible(dev.off())

# ---- 2. Learning-rate range test --------------------------------------------------------------
progress("learning-rate range test (exponential sweep 1e-3 .. 10, 100 steps)")
t0 <- Sys.time()
range_test <- lr_range_test(build_model(), x_train, y_train, start_lr = 1e-3, end_lr = 10,
                            num_iter = 100L, batch_size = batch_size, verbose = FALSE)
progress("range test took %.1f s", as.numeric(Sys.time() - t0, units = "secs"))
print(range_test)
lr_range <- range_test$lr_range
progress("suggested range: base_lr = %.3g, max_lr = %.3g", lr_range[1], lr_range[2])
png_file("range-test.png", width = 900, height = 550)
plot(range_test)
# Shade the range handed to the callbacks.
usr <- par("usr")
rect(lr_range[1], usr[3], lr_range[2], usr[4], col = grDevices::adjustcolor("steelblue", 0.15),
     border = NA)
text(sqrt(prod(lr_range)), usr[4] - 0.04 * diff(usr[3:4]), "lr_range", col = "steelblue")
invisible(dev.off())

# ---- 3. Training: constant learning rates vs one-cycle vs cyclical -----------------------------
# Every policy is trained from the same initial weights for each seed; differences of one or
# two test images (0.3% each) are noise, hence several seeds and a standard deviation.
seeds <- c(42L, 7L, 2024L)

fit_once <- function(learning_rate, make_callback, seed) {
  model <- build_model(learning_rate, seed)
  callback <- if (is.null(make_callback)) NULL else make_callback()
  t0 <- Sys.time()
  history <- model$fit(x_train, y_train, batch_size = batch_size, epochs = epochs, verbose = 0L,
                       validation_data = list(x_val, y_val),
                       callbacks = if (is.null(callback)) list() else list(callback))
  list(val_acc = unlist(history$history$val_accuracy),
       test_acc = unlist(model$evaluate(x_test, y_test, verbose = 0L))[2],
       seconds = as.numeric(Sys.time() - t0, units = "secs"),
       callback = callback)
}

run_policy <- function(policy, learning_rate = 0.01, make_callback = NULL) {
  progress("training %-32s %d epochs x %d seeds ...", policy, epochs, length(seeds))
  fits <- lapply(seeds, function(seed) fit_once(learning_rate, make_callback, seed))
  val_curves <- sapply(fits, `[[`, "val_acc")
  test_acc <- vapply(fits, `[[`, numeric(1), "test_acc")
  seconds <- mean(vapply(fits, `[[`, numeric(1), "seconds"))
  progress("  validation accuracy %.4f, test accuracy %.4f (sd %.4f), %.1f s per run",
           mean(val_curves[epochs, ]), mean(test_acc), stats::sd(test_acc), seconds)
  list(policy = policy, val_curve = rowMeans(val_curves), test_acc = test_acc,
       seconds = seconds, callback = fits[[1]]$callback)
}

constant_lrs <- c(0.01, 0.03, 0.1, 0.3)
runs <- lapply(constant_lrs, function(lr) run_policy(sprintf("constant lr = %g", lr), lr))
final_val <- vapply(runs, function(r) r$val_curve[epochs], numeric(1))
best <- which.max(final_val)
progress("best constant learning rate on the validation set: %g", constant_lrs[best])

runs[[length(runs) + 1]] <- run_policy(
  sprintf("one-cycle, max_lr = %.3g", lr_range[2]),
  make_callback = function() callback_one_cycle(max_lr = range_test))
one_cycle <- runs[[length(runs)]]$callback

runs[[length(runs) + 1]] <- run_policy(
  sprintf("cyclic %.3g-%.3g, tail", lr_range[1], lr_range[2]),
  make_callback = function() {
    callback_cyclic_lr(lr_range = range_test, step_size = 2 * steps_per_epoch,
                       tail = steps_per_epoch %/% 2)
  })

results <- data.frame(
  policy = vapply(runs, `[[`, "", "policy"),
  epochs = epochs,
  val_accuracy = round(vapply(runs, function(r) r$val_curve[epochs], numeric(1)), 4),
  test_accuracy = round(vapply(runs, function(r) mean(r$test_acc), numeric(1)), 4),
  test_sd = round(vapply(runs, function(r) stats::sd(r$test_acc), numeric(1)), 4),
  seconds = round(vapply(runs, `[[`, numeric(1), "seconds"), 1)
)
results$policy[best] <- paste(results$policy[best], "(best)")
cat(sprintf(paste0(
  "\nResults: %d epochs, batch size %d, SGD momentum 0.9, mean over %d seeds (seconds: per ",
  "run).\nThe best constant rate was picked on the validation set, so compare test accuracy.\n"),
  epochs, batch_size, length(seeds)))
print(results, row.names = FALSE)
utils::write.csv(results, file.path(out_dir, "results.csv"), row.names = FALSE)

# ---- 4. Plots of the training runs ------------------------------------------------------------
png_file("one-cycle-history.png", width = 1000, height = 700)
plot(one_cycle)
invisible(dev.off())

png_file("accuracy.png", width = 900, height = 550)
show <- c(best, length(runs) - 1, length(runs))
cols <- c("grey40", "firebrick", "steelblue")
acc <- sapply(runs[show], `[[`, "val_curve")
op <- par(mar = c(4, 4.5, 2.5, 1))
matplot(seq_len(epochs), acc, type = "b", pch = 16, lty = 1, col = cols, xlab = "epoch",
        ylab = sprintf("validation accuracy (mean of %d seeds)", length(seeds)),
        main = "Digits: validation accuracy per epoch")
legend("bottomright", legend = results$policy[show], col = cols, lty = 1, pch = 16, bty = "n")
par(op)
invisible(dev.off())

progress("plots and results.csv written to %s", normalizePath(out_dir))
cat(paste0("  ", list.files(out_dir), collapse = "\n"), "\n")
