package dev.jgan.eval;

/**
 * Class coverage of a generated set, read from the classifier's predictions: the histogram of
 * predicted classes, how many classes hold at least {@value #MIN_SHARE} of the samples, the KL
 * divergence of the histogram from uniform, KL(h || u) = sum_k h_k ln(K h_k) (0 for a perfectly
 * balanced set, ln K = 2.30 for a single class), and the mean max-softmax confidence.
 */
public record Coverage(int n, int[] histogram, int classesCovered, double klFromUniform, double meanConfidence) {
    /** A class counts as covered when it holds at least 2% of the samples (10 classes: 10% each when balanced). */
    public static final double MIN_SHARE = 0.02;

    public static Coverage of(Classifier.Outputs o) {
        int n = o.n(), k = Classifier.CLASSES;
        int[] hist = new int[k];
        double confidence = 0;
        for (int i = 0; i < n; i++) {
            int c = o.predicted(i);
            hist[c]++;
            confidence += o.probabilities()[i * k + c];
        }
        return of(hist, confidence / n);
    }

    static Coverage of(int[] hist, double meanConfidence) {
        int n = 0, covered = 0, k = hist.length;
        for (int h : hist) n += h;
        double kl = 0;
        for (int h : hist) {
            double share = (double) h / n;
            if (share >= MIN_SHARE) covered++;
            if (h > 0) kl += share * Math.log(k * share);
        }
        return new Coverage(n, hist.clone(), covered, kl, meanConfidence);
    }
}
