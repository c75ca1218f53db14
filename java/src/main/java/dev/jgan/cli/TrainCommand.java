package dev.jgan.cli;

import dev.jgan.UserError;
import dev.jgan.api.Trainer;
import dev.jgan.gan.Preset;
import dev.jgan.gan.Presets;
import dev.jgan.gan.TrainConfig;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.Console;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a GAN preset; writes config.json, metrics.jsonl, samples/ and checkpoints/ under --out.")
final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CommonOptions common;

    @Option(names = "--preset", description = "mlp-gan, mlp-gan-small, dcgan-28, dcgan-64, ring, or the class-conditional cgan-mlp, "
            + "cdcgan-28, cgan-ring, fast-fmnist (default: mlp-gan)")
    String preset;

    @Option(names = "--dataset", description = "fashion-mnist, mnist, cifar10 (with --data), emoji or folder (default: the preset's, "
            + "fashion-mnist; a --data folder of pictures is a folder)")
    String dataset;

    @Option(names = "--data", description = "directory with train-images-idx3-ubyte[.gz] (overrides discovery), CIFAR-10's *.bin files, "
            + "or any folder of PNG/JPEG/BMP/GIF images (searched recursively; sub-folders are class labels)")
    Path data;

    @Option(names = "--channels", description = "1 (gray) or 3 (colour); default: the data's (gray when every image is)")
    Integer channels;

    @Option(names = "--background", defaultValue = TrainConfig.BACKGROUND, paramLabel = "white|black",
            description = "what transparent pixels are composited onto (default: ${DEFAULT-VALUE})")
    String background;

    @Option(names = "--flip", description = "mirror each real image left-right with probability 1/2 (decided by seed and step: resume stays exact)")
    boolean flip;

    @Option(names = "--steps", description = "generator updates (default: the preset's, 3000)")
    Long steps;

    @Option(names = "--epochs", description = "passes over the dataset instead of --steps")
    Integer epochs;

    @Option(names = "--batch", description = "batch size (default: the preset's, 64)")
    Integer batch;

    @Option(names = "--lr", description = "learning rate of both networks")
    Float lr;

    @Option(names = "--lr-g", description = "generator learning rate")
    Float lrG;

    @Option(names = "--lr-d", description = "discriminator learning rate")
    Float lrD;

    @Option(names = "--beta1", description = "Adam's beta1 (default: the preset's, 0.5)")
    Float beta1;

    @Option(names = "--seed", defaultValue = "" + TrainConfig.SEED, description = "seed of initialisation, noise and shuffling (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--loss", description = "nonsaturating, minimax (BCE on D's sigmoid), hinge, "
            + "lsgan (least squares) or wgan (Wasserstein with weight clipping; RMSprop 5e-5, 5 D steps, --clip 0.01 unless given) "
            + "(default: the preset's; hinge for fast-fmnist, nonsaturating for the others)")
    String loss;

    @Option(names = "--init", description = "how the layers start: glorot (Keras' Glorot-uniform), pytorch (PyTorch's "
            + "default layer init) or normal (DCGAN's N(0, 0.02)) (default: the preset's)")
    String init;

    @Option(names = "--spectral-norm", description = "spectral normalisation (Miyato et al. 2018) of every dense and "
            + "convolution layer of d, g, both or none (default: the preset's; d for fast-fmnist, none for the others)")
    String spectralNorm;

    @Option(names = "--diffaugment", defaultValue = TrainConfig.DIFF_AUGMENT, paramLabel = "none|POLICY",
            description = "DiffAugment (Zhao et al. 2020) of every image D sees, real and fake: a comma list of color "
                    + "(3-channel images only), translation, cutout, e.g. translation,cutout or color,translation,cutout "
                    + "(default: ${DEFAULT-VALUE})")
    String diffAugment;

    @Option(names = "--aux-classifier", paramLabel = "WEIGHT",
            description = "AC-GAN's auxiliary classifier (Odena et al. 2017) on a conditional preset's D: its class logits learn the "
                    + "real image's label and the class G was asked for, and G learns to be classified as asked, with this "
                    + "weight beside the GAN loss (1 is AC-GAN's, 0 none; default: the preset's, 1 for cdcgan-28, else 0)")
    Float auxClassifier;

    @Option(names = "--optimizer", description = "adam, sgd (with --momentum) or rmsprop, for G and D (default: adam; rmsprop for --loss wgan)")
    String optimizer;

    @Option(names = "--momentum", defaultValue = "" + TrainConfig.MOMENTUM, description = "SGD's momentum (default: ${DEFAULT-VALUE})")
    float momentum;

    @Option(names = "--clip", description = "clamp D's parameters to [-C, C] after each of its updates, 0 = off (default: 0; 0.01 for --loss wgan)")
    Float clip;

    @Option(names = "--real-label", defaultValue = "" + TrainConfig.REAL_LABEL, description = "D's target for real images; 0.9 = one-sided label smoothing (default: ${DEFAULT-VALUE})")
    float realLabel;

    @Option(names = "--label-noise", defaultValue = "" + TrainConfig.LABEL_NOISE, description = "fraction of D's labels flipped each batch (default: ${DEFAULT-VALUE})")
    float labelNoise;

    @Option(names = "--d-steps", description = "D updates per G update (default: " + TrainConfig.D_STEPS + "; "
            + TrainConfig.WGAN_D_STEPS + " for --loss wgan)")
    Integer dSteps;

    @Option(names = "--log-every", defaultValue = "" + TrainConfig.LOG_EVERY, description = "steps between metrics lines (default: ${DEFAULT-VALUE})")
    int logEvery;

    @Option(names = "--sample-every", description = "steps between sample grids (default: the preset's, 500)")
    Integer sampleEvery;

    @Option(names = "--checkpoint-every", defaultValue = "" + TrainConfig.CHECKPOINT_EVERY, description = "steps between checkpoints (default: ${DEFAULT-VALUE})")
    int checkpointEvery;

    @Option(names = "--g-ema", description = "keep an exponential moving average of G's weights and batch-norm statistics "
            + "with this decay (e.g. 0.999), saved in checkpoints and used by sample/eval; 0 = off (default: the preset's; off but for fast-fmnist)")
    Float gEma;

    @Option(names = "--eval-every", defaultValue = "" + TrainConfig.EVAL_EVERY, description = "steps between FID and class-coverage measurements in metrics.jsonl; 0 = never (default: ${DEFAULT-VALUE})")
    int evalEvery;

    @Option(names = "--eval-n", defaultValue = "" + TrainConfig.EVAL_N, description = "generated images per --eval-every measurement (default: ${DEFAULT-VALUE})")
    int evalN;

    @Option(names = "--out", description = "run directory (default: runs/PRESET-DATE-TIME)")
    Path out;

    @Option(names = "--resume", description = "continue the run in --out from its last checkpoint (up to --steps)")
    boolean resume;

    @Option(names = "--minutes", paramLabel = "M", description = "a budget of training time: stop at the first step that ends after M "
            + "minutes of training (the steps' wall clock; logs, --eval-every's measurements, samples and checkpoints excluded), or "
            + "at --steps/--epochs if sooner; without --steps or --epochs the budget alone ends the run (default: the preset's, "
            + "10 for fast-fmnist, none for the others; --steps or --epochs alone replace a preset's budget)")
    Double minutes;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter outw = spec.commandLine().getOut();
        Trainer.Builder trainer = (resume ? resumed() : run()).backend(() -> common.backend(err)).log(err::println);
        Trainer.Result r;
        try (Bar bar = new Bar(!noProgress)) {
            r = trainer.listener(bar).build().run();
        }
        outw.println(r.last().summary());
        outw.println("outputs in " + r.runDir() + ": samples/ (last: " + r.lastSample().getFileName() + "), checkpoints/ (last: "
                + r.checkpoint().getFileName() + "), metrics.jsonl, config.json, report.html");
        return 0;
    }

    /** The run in --out from its last checkpoint, to --steps or --minutes when given; the recipe is the checkpoint's. */
    private Trainer.Builder resumed() {
        if (out == null) throw new UserError("--resume needs --out DIR, the run to continue");
        Trainer.Builder t = preset == null ? Trainer.resume(out) : Trainer.builder(preset).out(out).resume();
        if (steps != null) t.steps(steps);
        if (minutes != null) t.minutes(minutes);
        return t;
    }

    /** A new run of --preset with the recipe the flags give; the run's length and the recipe are checked by Trainer.Builder.build(). */
    private Trainer.Builder run() {
        Preset p = Presets.get(preset != null ? preset : "mlp-gan");
        if (lr != null && (lrG != null || lrD != null)) throw new UserError("give --lr or --lr-g/--lr-d, not both");
        if (p.kind().makesOwnData() && dataset != null && !dataset.equals(p.defaultDataset()))
            throw new UserError("preset " + p.name() + " makes its own 2-D data; --dataset does not apply");
        if (channels != null) {
            if (channels != 1 && channels != 3) throw new UserError("--channels must be 1 or 3, got " + channels);
            if (!p.kind().images()) throw new UserError("preset " + p.name() + " makes 2-D points; --channels does not apply");
        }
        if (dSteps != null && dSteps <= 0) throw new UserError("--d-steps must be positive, got " + dSteps);
        Trainer.Builder t = Trainer.builder(p.name()).seed(seed);
        if (out != null) t.out(out);   // else runs/PRESET-DATE-TIME
        if (dataset != null) t.dataset(dataset);
        if (data != null) t.data(data);
        if (batch != null) t.batch(batch);
        if (steps != null) t.steps(steps);
        if (epochs != null) t.epochs(epochs);
        if (minutes != null) t.minutes(minutes);
        return t.recipe(c -> {
            c.realLabel(realLabel).labelNoise(labelNoise).momentum(momentum).logEvery(logEvery)
                    .checkpointEvery(checkpointEvery).evalEvery(evalEvery).evalN(evalN)
                    .cudnnNondeterministic(common.cudnnNondeterministic).background(background).flip(flip).diffAugment(diffAugment);
            if (auxClassifier != null) c.auxClassifier(auxClassifier);
            if (gEma != null) c.gEma(gEma);
            if (channels != null) c.channels(channels);
            if (dSteps != null) c.dSteps(dSteps);
            if (optimizer != null) c.optimizer(optimizer);
            if (init != null) c.init(init);
            if (spectralNorm != null) c.spectralNorm(spectralNorm);
            if (loss != null) c.loss(loss);
            if (clip != null) c.clip(clip);
            if (lr != null) c.lr(lr);
            if (lrG != null) c.lrG(lrG);
            if (lrD != null) c.lrD(lrD);
            if (beta1 != null) c.beta1(beta1);
            if (sampleEvery != null) c.sampleEvery(sampleEvery);
        });
    }

    /** The progress bar on stderr, with the latest losses as its message. */
    private static final class Bar implements Trainer.Listener, AutoCloseable {
        private final boolean enabled;
        private ProgressBar bar;

        /** Only on a terminal: redirected output gets the final summary, not a stream of redraws. */
        Bar(boolean enabled) {
            Console console = System.console();
            this.enabled = enabled && console != null && console.isTerminal();
        }

        @Override public void onStep(Trainer.Step s) {
            if (!enabled) return;
            if (bar == null) {
                long total = s.totalSteps();
                bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(total == Long.MAX_VALUE ? -1 : total).startsFrom(s.step() - 1, Duration.ZERO)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).setMaxRenderedLength(100).build();
            }
            bar.stepTo(s.step());
            if (!Float.isNaN(s.dLoss()))   // NaN until the first log point
                bar.setExtraMessage(String.format(" D %.3f G %.3f", s.dLoss(), s.gLoss()));
        }

        @Override public void close() {
            if (bar != null) bar.close();
        }
    }
}
