package dev.jgan.gan;

import dev.jgan.UserError;
import dev.jgan.backend.Backend;
import dev.jgan.backend.DiffAugment;
import dev.jgan.random.RngStream;
import dev.jgan.tensor.Shape;
import dev.jgan.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * DiffAugment (Zhao et al. 2020, arXiv 2006.10738) of D's input batches: the policy's transforms
 * in its order, as the paper's DiffAugment(x, policy) applies them, each with fresh random
 * numbers per call, drawn on the backend from the trainer's Philox stream (fillUniform from 1 to
 * 0: r = 1 - u in [0, 1), torch.rand's range), so a resumed run draws the same ones. The last
 * {@link #forward}'s numbers stay for {@link #backward}, which carries G's gradient back through
 * the augmentation of the fake batch. Buffers are made once; nothing crosses to the host.
 */
final class Augmentation {
    /** The flag's value without augmentation. */
    static final String NONE = "none";

    private final Backend b;
    private final List<DiffAugment> policy;
    private final Tensor[] params, outs, grads;

    Augmentation(Backend b, List<DiffAugment> policy, Shape images) {
        this.b = b;
        this.policy = List.copyOf(policy);
        int k = policy.size();
        params = new Tensor[k];
        outs = new Tensor[k];
        grads = new Tensor[k];
        for (int i = 0; i < k; i++) {
            params[i] = b.allocate(Shape.of(images.dim(0), policy.get(i).params()));
            outs[i] = b.allocate(images);
            grads[i] = b.allocate(images);
        }
    }

    /**
     * The transforms of {@code flag}: "none", or comma-separated names of {@link DiffAugment}
     * (color, translation, cutout) each at most once; one line naming the choices otherwise.
     */
    static List<DiffAugment> policy(String flag) {
        if (flag == null || flag.equals(NONE)) return List.of();
        List<DiffAugment> out = new ArrayList<>();
        for (String name : flag.split(",", -1)) {
            DiffAugment found = null;
            for (DiffAugment a : DiffAugment.values()) if (a.flag().equals(name.strip())) found = a;
            if (found == null || out.contains(found))
                throw new UserError("--diffaugment: " + (found == null ? "unknown transform '" + name.strip() + "'" : found.flag() + " twice")
                        + " in '" + flag + "'; use none or a comma list of color, translation, cutout (e.g. translation,cutout)");
            out.add(found);
        }
        return out;
    }

    /** x (N, C, H, W) through every transform with new random numbers; the result is this object's buffer until the next call. */
    Tensor forward(Tensor x, RngStream noise) {
        Tensor in = x;
        for (int i = 0; i < policy.size(); i++) {
            b.fillUniform(params[i], 1f, 0f, noise.seed(), noise.take(params[i].size()));
            b.diffAugment(policy.get(i), in, params[i], outs[i]);
            in = outs[i];
        }
        return in;
    }

    /** dx of the last {@link #forward} given dy of its output, through the transforms in reverse. */
    Tensor backward(Tensor dy) {
        Tensor g = dy;
        for (int i = policy.size() - 1; i >= 0; i--) {
            b.diffAugmentBackward(policy.get(i), g, params[i], grads[i]);
            g = grads[i];
        }
        return g;
    }
}
