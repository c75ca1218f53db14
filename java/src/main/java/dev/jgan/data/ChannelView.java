package dev.jgan.data;

import java.util.List;

/** {@link ImageSource#withChannels}: a gray source read as colour, or a colour one as gray. */
final class ChannelView implements ImageSource {
    static final float LUMA_R = 0.299f, LUMA_G = 0.587f, LUMA_B = 0.114f;

    private final ImageSource base;
    private final int channels;
    private final ThreadLocal<float[]> scratch;

    ChannelView(ImageSource base, int channels) {
        this.base = base;
        this.channels = channels;
        this.scratch = ThreadLocal.withInitial(() -> new float[base.itemSize()]);
    }

    @Override public String name() { return base.name(); }
    @Override public int n() { return base.n(); }
    @Override public int c() { return channels; }
    @Override public int h() { return base.h(); }
    @Override public int w() { return base.w(); }
    @Override public int[] labels() { return base.labels(); }
    @Override public List<String> classNames() { return base.classNames(); }

    @Override public void copy(int item, float[] dst, int offset) {
        int plane = h() * w();
        if (channels == 3) {
            base.copy(item, dst, offset);
            System.arraycopy(dst, offset, dst, offset + plane, plane);
            System.arraycopy(dst, offset, dst, offset + 2 * plane, plane);
            return;
        }
        float[] rgb = scratch.get();
        base.copy(item, rgb, 0);
        for (int i = 0; i < plane; i++) dst[offset + i] = LUMA_R * rgb[i] + LUMA_G * rgb[plane + i] + LUMA_B * rgb[2 * plane + i];
    }
}
