# kerasclr demo: does fit_one_cycle(), which finds its own learning rate, train as well as a
# learning rate tuned on a grid? It compares, on one problem:
#
#   * fit_one_cycle() with its defaults: the range test, then one-cycle training from its
#     answer, for `epochs` epochs;
#   * the best constant learning rate of a grid spanning two orders of magnitude, trained
#     twice as long;
#   * Keras' own warm-up + cosine schedule (CosineDecay from 0, 30% linear warm-up), `epochs`
#     epochs, its peak the best of the same grid: what a Keras user would otherwise do.
#
# The grid values are chosen on the validation set (mean over the seeds); test accuracy is
# only reported. The split seed and the training seeds below were fixed before any result
# (the seeds are the demo's since its first version) and are never chosen from the outcome.
# This is the protocol of the outcome panel, bench/bench-panel.py (its digits-mlp-sgd row),
# on one split; the panel runs 3 splits x 3 seeds over six problems.
#
# Data: scikit-learn's handwritten digits (1,797 8x8 images that ship with scikit-learn;
# nothing is downloaded), as an R matrix and R integer labels. Model: an MLP 64-128-10
# trained with SGD (momentum 0.9), batch 32. About two minutes on 2 CPU cores.
#
# Run it with `bash scripts/demo.sh` (sets everything up first), or from R with
# demo("digits", package = "kerasclr"). The PNG pictures and the csv files go to the folder
# in the environment variable KERASCLR_DEMO_OUT (default "out/demo").

library(kerasclr)

epochs <- 10L                             # E: fit_one_cycle() and the cosine; the constant 2 E
batch_size <- 32L
grid <- c(0.003, 0.01, 0.03, 0.1, 0.3)    # the learning rates tuned for the baselines
seeds <- c(42L, 7L, 2024L)                # one training run per seed and policy
split_seed <- 2017L

out_dir <- Sys.getenv("KERASCLR_DEMO_OUT", "out/demo")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
progress <- function(...) {
  cat(sprintf("[demo %s] ", format(Sys.time(), "%H:%M:%S")), sprintf(...), "\n", sep = "")
  utils::flush.console()
}
png_file <- function(name, width = 1000, height = 600) {
  grDevices::png(file.path(out_dir, name), width = width, height = height, res = 110)
}
started <- Sys.time()

keras <- reticulate::import("keras")
progress("Keras %s on the %s backend", keras$`__version__`, keras$backend$backend())

# ---- Data: 70/30 train/test stratified, then 20% of train for validation -------------------
# scikit-learn's train_test_split() draws the rows, so the split is the Python demo's
# (python -m kerasclr.demo); the data stay R objects.
digits <- reticulate::import("sklearn.datasets")$load_digits()
x <- digits$data / 16                     # an R matrix, pixel intensities 0..16 -> 0..1
y <- as.integer(digits$target)            # R integer labels 0..9
train_test_split <- reticulate::import("sklearn.model_selection")$train_test_split
first <- train_test_split(seq_along(y), test_size = 0.3, random_state = split_seed,
                          stratify = y)
second <- train_test_split(first[[1]], test_size = 0.2, random_state = split_seed,
                           stratify = y[first[[1]]])
rows <- list(train = second[[1]], val = second[[2]], test = first[[2]])
x_train <- x[rows$train, ]; y_train <- y[rows$train]
x_val <- x[rows$val, ]; y_val <- y[rows$val]
x_test <- x[rows$test, ]; y_test <- y[rows$test]
steps_per_epoch <- ceiling(length(y_train) / batch_size)
progress("digits (split seed %d): %d training, %d validation, %d test images", split_seed,
         length(y_train), length(y_val), length(y_test))

# The README picture of a cyclical schedule with its tail.
png_file("clr-schedule.png", width = 900, height = 450)
op <- par(mar = c(4, 4.5, 2.5, 1))
clr <- cyclic_lr(0:799, base_lr = 1e-4, max_lr = 1e-2, step_size = 100, mode = "triangular2",
                 tail = 40)
plot(0:799, as.numeric(clr), type = "l", lwd = 2, col = "grey30", xlab = "iteration",
     ylab = "learning rate",
     main = "cyclic_lr(mode = \"triangular2\", step_size = 100, tail = 40)")
par(op)
invisible(dev.off())

# ---- The trainings -------------------------------------------------------------------------
# The same model, with the same initial weights (and shuffling) for a given seed.
build_model <- function(learning_rate = 0.01, seed) {
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
# Plain Keras calls take NumPy arrays (reticulate turns an R vector into a Python list, which
# Keras refuses); kerasclr's functions take the R data as they are.
labels <- function(y) reticulate::np_array(y, dtype = "int32")
test_accuracy <- function(model) {
  unlist(model$evaluate(x_test, labels(y_test), verbose = 0L))[[2]]
}
fit_and_score <- function(model, n_epochs) {
  history <- model$fit(x_train, labels(y_train), batch_size = batch_size, epochs = n_epochs,
                       verbose = 0L, validation_data = list(x_val, labels(y_val)))
  list(val_curve = as.numeric(unlist(history$history$val_accuracy)), test = test_accuracy(model))
}

# fit_one_cycle() with its defaults (the rate the model was compiled with is not used).
train_pipeline <- function(seed, value, n_epochs) {
  model <- build_model(seed = seed)
  fit <- fit_one_cycle(model, x_train, y_train, epochs = n_epochs, batch_size = batch_size,
                       verbose = 0, validation_data = list(x_val, y_val))
  list(val_curve = fit$metrics$val_accuracy, test = test_accuracy(model),
       range_test_steps = fit$range_test_steps, max_lr = fit$max_lr, fit = fit)
}
train_constant <- function(seed, value, n_epochs) {
  fit_and_score(build_model(value, seed), n_epochs)
}
# Keras' warm-up + cosine decay as its documentation shows it: from 0 up to the peak `value`.
train_cosine <- function(seed, value, n_epochs) {
  total <- n_epochs * steps_per_epoch
  warmup <- round(0.3 * total)
  schedule <- keras$optimizers$schedules$CosineDecay(
    initial_learning_rate = 0, decay_steps = as.integer(total - warmup), warmup_target = value,
    warmup_steps = as.integer(warmup))
  fit_and_score(build_model(schedule, seed), n_epochs)
}

# Trains a policy for every value of its grid (NA_real_: no grid) and seed, then picks the value of
# the best mean validation accuracy (of equals, the lower rate).
run_policy <- function(name, train, values = NA_real_, n_epochs = epochs) {
  runs <- list()
  for (value in values) {
    progress("training %-40s %d epochs x %d seeds ...",
             if (is.na(value)) name else sprintf("%s, %g", name, value), n_epochs, length(seeds))
    for (seed in seeds) {
      t0 <- Sys.time()
      run <- train(seed, value, n_epochs)
      run[c("value", "seed", "seconds")] <- list(value, seed,
                                                as.numeric(Sys.time() - t0, units = "secs"))
      runs[[length(runs) + 1]] <- run
    }
  }
  of_value <- vapply(runs, `[[`, numeric(1), "value")
  final_val <- vapply(runs, function(r) r$val_curve[n_epochs], numeric(1))
  mean_val <- vapply(values, function(v) mean(final_val[of_value %in% v]), numeric(1))
  value <- values[which.max(mean_val)]
  list(name = name, runs = runs, values = values, value = value, epochs = n_epochs,
       chosen = runs[of_value %in% value],
       seconds = sum(vapply(runs, `[[`, numeric(1), "seconds")) / length(seeds))
}

results <- list(
  pipeline = run_policy("fit_one_cycle()", train_pipeline),
  constant = run_policy("best constant", train_constant, grid, n_epochs = 2L * epochs),
  cosine = run_policy("Keras CosineDecay, warm-up 30%", train_cosine, grid)
)

# ---- The table -----------------------------------------------------------------------------
of_chosen <- function(res, what) vapply(res$chosen, `[[`, numeric(1), what)
final_val <- function(res) vapply(res$chosen, function(r) r$val_curve[res$epochs], numeric(1))
pm <- if (isTRUE(l10n_info()[["UTF-8"]])) " \u00b1 " else " +/- "
mean_sd <- function(v) sprintf("%.4f%s%.4f", mean(v), pm, stats::sd(v))
lr_list <- function(v) {
  if (length(unique(signif(v, 2))) == 1) format(signif(v[1], 2)) else
    paste(format(signif(range(v), 2)), collapse = "-")
}
range_test_epochs <- mean(of_chosen(results$pipeline, "range_test_steps")) / steps_per_epoch
table <- data.frame(
  policy = c(sprintf("fit_one_cycle(), max_lr %s", lr_list(of_chosen(results$pipeline, "max_lr"))),
             sprintf("best constant (chose %g)", results$constant$value),
             sprintf("Keras CosineDecay, warm-up 30%% (chose %g)", results$cosine$value)),
  epochs = c(sprintf("%d + %.1f (range test)", epochs, range_test_epochs),
             sprintf("%d (x %d to tune)", 2L * epochs, length(grid)),
             sprintf("%d (x %d to tune)", epochs, length(grid))),
  validation_accuracy = vapply(results, function(r) mean_sd(final_val(r)), ""),
  test_accuracy = vapply(results, function(r) mean_sd(of_chosen(r, "test")), ""),
  seconds = sprintf("%.1f", vapply(results, `[[`, numeric(1), "seconds")),
  row.names = NULL
)
cat(sprintf(paste0(
  "\nResults: digits, MLP 64-128-10, SGD momentum 0.9, batch %d, split seed %d, mean %s sd ",
  "over seeds %s.\nGrid values chosen on validation accuracy; compare test accuracy. Epochs of ",
  "the final model;\nseconds per seed, tuning and range test included.\n"),
  batch_size, split_seed, trimws(pm), paste(seeds, collapse = ", ")))
op <- options(width = 200)  # one line per row
print(table, right = FALSE, row.names = FALSE)
options(op)

# Every value of the grids, so that the choice can be checked.
grid_cell <- function(res, v) {
  runs <- Filter(function(r) r$value == v, res$runs)
  sprintf("%.4f / %.4f%s", mean(vapply(runs, function(r) r$val_curve[res$epochs], numeric(1))),
          mean(vapply(runs, `[[`, numeric(1), "test")), if (v == res$value) " *" else "")
}
grids <- data.frame(learning_rate = grid,
                    constant = vapply(grid, grid_cell, "", res = results$constant),
                    cosine = vapply(grid, grid_cell, "", res = results$cosine))
cat("\nThe grids (mean validation / test accuracy over the seeds; * chosen on validation):\n")
print(grids, row.names = FALSE)
cat(sprintf("The whole demo took %.0f s.\n\n",
            as.numeric(Sys.time() - started, units = "secs")))

utils::write.csv(table, file.path(out_dir, "results.csv"), row.names = FALSE)
runs <- do.call(rbind, lapply(results, function(res) do.call(rbind, lapply(res$runs, function(r) {
  data.frame(policy = res$name, value = r$value, seed = r$seed, epochs = res$epochs,
             range_test_steps = if (is.null(r$range_test_steps)) 0L else r$range_test_steps,
             val_accuracy = r$val_curve[res$epochs], test_accuracy = r$test,
             seconds = round(r$seconds, 2))
}))))
utils::write.csv(runs, file.path(out_dir, "runs.csv"), row.names = FALSE)

# ---- The pictures --------------------------------------------------------------------------
# The pipeline's own range test and one-cycle schedule (first seed).
fit <- results$pipeline$runs[[1]]$fit
lr_range <- fit$range_test$lr_range
png_file("range-test.png", width = 900, height = 550)
op <- par(mar = c(4.5, 4.5, 2, 1))  # the margins plot() uses, so that the shade lines up
plot(fit$range_test)
usr <- par("usr")  # shade the range handed to the callbacks
rect(lr_range[1], usr[3], lr_range[2], usr[4], col = grDevices::adjustcolor("steelblue", 0.15),
     border = NA)
text(sqrt(prod(lr_range)), usr[4] - 0.04 * diff(usr[3:4]), "lr_range", col = "steelblue")
par(op)
invisible(dev.off())

png_file("one-cycle-history.png", width = 1000, height = 700)
plot(fit$one_cycle)
invisible(dev.off())

# Validation accuracy per epoch (mean over the seeds) of each policy, as chosen.
curves <- lapply(results, function(res) {
  rowMeans(do.call(cbind, lapply(res$chosen, `[[`, "val_curve")))
})
cols <- c("firebrick", "grey40", "steelblue")
png_file("accuracy.png", width = 900, height = 550)
op <- par(mar = c(4, 4.5, 2.5, 1))
plot(NULL, xlim = c(1, 2 * epochs), ylim = range(unlist(curves)), xlab = "epoch",
     ylab = sprintf("validation accuracy (mean of %d seeds)", length(seeds)),
     main = "Digits: validation accuracy per epoch")
for (i in seq_along(curves)) {
  lines(seq_along(curves[[i]]), curves[[i]], type = "b", pch = 16, col = cols[i])
}
legend("bottomright", legend = table$policy, col = cols, lty = 1, pch = 16, bty = "n")
par(op)
invisible(dev.off())
progress("pictures, results.csv and runs.csv written to %s", normalizePath(out_dir))

# ---- The finding, from the numbers above ---------------------------------------------------
# As the panel judges it: fit_one_cycle()'s mean test accuracy at least the best constant's,
# and at most one seed standard deviation (the cosine's) below the tuned cosine's.
# The rule lives in kerasclr's Python core (kerasclr.demo.goals_met), which the panel uses too.
test_of <- lapply(results, of_chosen, what = "test")
m <- vapply(test_of, mean, numeric(1))
s <- vapply(test_of, stats::sd, numeric(1))
rule <- kerasclr:::kerasclr_py_module("demo")
goals <- rule$goals_met(m[["pipeline"]], m[["constant"]], m[["cosine"]],
                        if (is.na(s[["cosine"]])) NaN else s[["cosine"]])
cat(sprintf(paste0(
  "Finding: fit_one_cycle() reached test accuracy %.4f%s%.4f in %d epochs + %.0f range-test ",
  "steps; the best constant (%g, chosen among %d on validation) %.4f%s%.4f in %d epochs; ",
  "Keras' tuned warm-up + cosine (peak %g) %.4f%s%.4f in %d epochs. At least the best ",
  "constant: %s; within one seed sd (%.4f) of the cosine: %s.\n"),
  m[["pipeline"]], pm, s[["pipeline"]], epochs,
  mean(of_chosen(results$pipeline, "range_test_steps")),
  results$constant$value, length(grid), m[["constant"]], pm, s[["constant"]], 2L * epochs,
  results$cosine$value, m[["cosine"]], pm, s[["cosine"]], epochs,
  rule$verdict(goals[[1]]), s[["cosine"]], rule$verdict(goals[[2]])))
