package dev.jgan.gan;

import dev.jgan.UserError;

/** The generator's loss. D always minimises the binary cross-entropy of real vs fake. */
public enum Loss {
    /** G minimises -log D(G(z)) (Goodfellow et al.'s practical variant; strong early gradients). */
    NONSATURATING("nonsaturating"),
    /** G minimises log(1 - D(G(z))), the original minimax objective (saturates early). */
    MINIMAX("minimax");

    private final String flag;

    Loss(String flag) { this.flag = flag; }

    public String flag() { return flag; }

    public static Loss of(String s) {
        for (Loss l : values()) if (l.flag.equals(s)) return l;
        throw new UserError("unknown loss '" + s + "'; use nonsaturating or minimax");
    }
}
