package dev.jgan.eval;

/**
 * Class coverage of a generated set, read from the classifier's predictions: the histogram of
 * predicted classes; how many classes are covered, that is, hold at least a fifth of their share
 * of the real data (with 10 balanced classes: at least 2% of the samples); the KL divergence of
 * the histogram from uniform, KL(h || u) = sum_k h_k ln(K h_k) (0 for a balanced set, ln K for a
 * single class); from the data's own label distribution d, KL(h || d) = sum_k h_k ln(h_k / d_k)
 * (0 when G makes the classes as often as the data holds them: the measure for skewed data such as
 * the emoji's categories); and the mean max-softmax confidence.
 */
public record Coverage(int n, int[] histogram, int classesCovered, double klFromUniform, double klFromData, double meanConfidence) {
    /** A class is covered when it holds at least its share of the data divided by this. */
    public static final double SHARE_DIVISOR = 5;
    /** 10 balanced classes: the 2% a class needs. */
    public static final double MIN_SHARE = 0.1 / SHARE_DIVISOR;

    /** Coverage against balanced classes. */
    public static Coverage of(Classifier.Outputs o) {
        return of(o, uniform(o.classes()));
    }

    /** Coverage against the data's class shares {@code data} (summing to 1). */
    public static Coverage of(Classifier.Outputs o, double[] data) {
        int n = o.n(), k = o.classes();
        int[] hist = new int[k];
        double confidence = 0;
        for (int i = 0; i < n; i++) {
            int c = o.predicted(i);
            hist[c]++;
            confidence += o.probabilities()[i * k + c];
        }
        return of(hist, confidence / n, data);
    }

    static Coverage of(int[] hist, double meanConfidence) {
        return of(hist, meanConfidence, uniform(hist.length));
    }

    static Coverage of(int[] hist, double meanConfidence, double[] data) {
        if (data.length != hist.length) throw new IllegalArgumentException(hist.length + " classes, data shares of " + data.length);
        int n = 0, covered = 0, k = hist.length;
        for (int h : hist) n += h;
        double kl = 0, klData = 0;
        for (int c = 0; c < k; c++) {
            double share = (double) hist[c] / n;
            if (data[c] > 0 && share >= data[c] / SHARE_DIVISOR) covered++;
            if (hist[c] > 0) {
                kl += share * Math.log(k * share);
                klData += data[c] > 0 ? share * Math.log(share / data[c]) : Double.POSITIVE_INFINITY;
            }
        }
        return new Coverage(n, hist.clone(), covered, kl, klData, meanConfidence);
    }

    /** The share of each of {@code k} classes among {@code labels}. */
    public static double[] shares(int[] labels, int k) {
        double[] d = new double[k];
        for (int l : labels) d[l]++;
        for (int c = 0; c < k; c++) d[c] /= labels.length;
        return d;
    }

    static double[] uniform(int k) {
        double[] d = new double[k];
        java.util.Arrays.fill(d, 1.0 / k);
        return d;
    }
}
