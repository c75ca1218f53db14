package dev.jgan.cuda.ffm;

import java.util.Map;

/**
 * cudnnStatus_t of the cuDNN major in use: cuDNN 9 renumbered it, so a status means nothing
 * without the version. Checked against the headers value by value:
 * <ul>
 *   <li><b>8.9</b> (cudnn_ops_infer.h): a flat enum, SUCCESS 0, NOT_INITIALIZED 1, ALLOC_FAILED 2,
 *       BAD_PARAM 3, INTERNAL_ERROR 4, INVALID_VALUE 5, ARCH_MISMATCH 6, MAPPING_ERROR 7,
 *       EXECUTION_FAILED 8, NOT_SUPPORTED 9, LICENSE_ERROR 10, RUNTIME_PREREQUISITE_MISSING 11,
 *       RUNTIME_IN_PROGRESS 12, RUNTIME_FP_OVERFLOW 13, VERSION_MISMATCH 14.</li>
 *   <li><b>9.x</b> (cudnn_graph.h): categories by thousands ({@code CUDNN_STATUS_CATEGORY(s)} is
 *       s / 1000 * 1000), each category's code also its general member, sub-codes after it:
 *       1001..1008 uncategorised (NOT_INITIALIZED 1001 ... SUBLIBRARY_LOADING_FAILED 1008),
 *       BAD_PARAM 2000 (INVALID_VALUE 2001, deprecated; NULL_POINTER 2002 ... DESCRIPTOR_TYPE 2012),
 *       NOT_SUPPORTED 3000 (GRAPH_PATTERN 3001 ... CUDA_GRAPH_NATIVE_API 3013), INTERNAL_ERROR 4000
 *       (COMPILATION_FAILED 4001 ... TEXTURE_CREATION_FAILED 4006), EXECUTION_FAILED 5000
 *       (CUDA_DRIVER 5001 ... CURAND 5004).</li>
 * </ul>
 * Where they agree: SUCCESS is 0 in both, and every name of 8.9 but five keeps its meaning.
 * Where they differ: every other value; ALLOC_FAILED, ARCH_MISMATCH, MAPPING_ERROR,
 * RUNTIME_PREREQUISITE_MISSING and VERSION_MISMATCH are no longer members of 9's enum (their
 * meanings moved to sub-codes: INTERNAL_ERROR_HOST_ALLOCATION_FAILED 4003,
 * NOT_SUPPORTED_ARCH_MISMATCH 3007, NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING 3008,
 * SUBLIBRARY_VERSION_MISMATCH 1002); and "not supported" is one value in 8.9 (9) but a whole
 * category in 9 (3000..3999: an algorithm that cannot do a shape may answer NOT_SUPPORTED_SHAPE),
 * which {@link #isNotSupported} covers. A 9.x value above the named ones (a later minor's new
 * sub-code) is still named by its category.
 */
enum CudnnStatus {
    V8(8), V9(9);

    static final int SUCCESS = 0;

    private static final Map<Integer, String> NAMES_8 = Map.ofEntries(
            Map.entry(0, "CUDNN_STATUS_SUCCESS"),
            Map.entry(1, "CUDNN_STATUS_NOT_INITIALIZED"),
            Map.entry(2, "CUDNN_STATUS_ALLOC_FAILED"),
            Map.entry(3, "CUDNN_STATUS_BAD_PARAM"),
            Map.entry(4, "CUDNN_STATUS_INTERNAL_ERROR"),
            Map.entry(5, "CUDNN_STATUS_INVALID_VALUE"),
            Map.entry(6, "CUDNN_STATUS_ARCH_MISMATCH"),
            Map.entry(7, "CUDNN_STATUS_MAPPING_ERROR"),
            Map.entry(8, "CUDNN_STATUS_EXECUTION_FAILED"),
            Map.entry(9, "CUDNN_STATUS_NOT_SUPPORTED"),
            Map.entry(10, "CUDNN_STATUS_LICENSE_ERROR"),
            Map.entry(11, "CUDNN_STATUS_RUNTIME_PREREQUISITE_MISSING"),
            Map.entry(12, "CUDNN_STATUS_RUNTIME_IN_PROGRESS"),
            Map.entry(13, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW"),
            Map.entry(14, "CUDNN_STATUS_VERSION_MISMATCH"));

    private static final Map<Integer, String> NAMES_9 = Map.ofEntries(
            Map.entry(0, "CUDNN_STATUS_SUCCESS"),
            Map.entry(1001, "CUDNN_STATUS_NOT_INITIALIZED"),
            Map.entry(1002, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH"),
            Map.entry(1003, "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH"),
            Map.entry(1004, "CUDNN_STATUS_DEPRECATED"),
            Map.entry(1005, "CUDNN_STATUS_LICENSE_ERROR"),
            Map.entry(1006, "CUDNN_STATUS_RUNTIME_IN_PROGRESS"),
            Map.entry(1007, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW"),
            Map.entry(1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED"),
            Map.entry(2000, "CUDNN_STATUS_BAD_PARAM"),
            Map.entry(2001, "CUDNN_STATUS_INVALID_VALUE"),
            Map.entry(2002, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER"),
            Map.entry(2003, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER"),
            Map.entry(2004, "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED"),
            Map.entry(2005, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND"),
            Map.entry(2006, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT"),
            Map.entry(2007, "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH"),
            Map.entry(2008, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH"),
            Map.entry(2009, "CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES"),
            Map.entry(2010, "CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE"),
            Map.entry(2011, "CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH"),
            Map.entry(2012, "CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE"),
            Map.entry(3000, "CUDNN_STATUS_NOT_SUPPORTED"),
            Map.entry(3001, "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN"),
            Map.entry(3002, "CUDNN_STATUS_NOT_SUPPORTED_SHAPE"),
            Map.entry(3003, "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE"),
            Map.entry(3004, "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT"),
            Map.entry(3005, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER"),
            Map.entry(3006, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART"),
            Map.entry(3007, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH"),
            Map.entry(3008, "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING"),
            Map.entry(3009, "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE"),
            Map.entry(3010, "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT"),
            Map.entry(3011, "CUDNN_STATUS_NOT_SUPPORTED_PADDING"),
            Map.entry(3012, "CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM"),
            Map.entry(3013, "CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API"),
            Map.entry(4000, "CUDNN_STATUS_INTERNAL_ERROR"),
            Map.entry(4001, "CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED"),
            Map.entry(4002, "CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE"),
            Map.entry(4003, "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"),
            Map.entry(4004, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"),
            Map.entry(4005, "CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM"),
            Map.entry(4006, "CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED"),
            Map.entry(5000, "CUDNN_STATUS_EXECUTION_FAILED"),
            Map.entry(5001, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER"),
            Map.entry(5002, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS"),
            Map.entry(5003, "CUDNN_STATUS_EXECUTION_FAILED_CUDART"),
            Map.entry(5004, "CUDNN_STATUS_EXECUTION_FAILED_CURAND"));

    private final int major;

    CudnnStatus(int major) { this.major = major; }

    /**
     * The table for what cudnnGetVersion() returned: cuDNN 8 encodes major * 1000 + minor * 100 +
     * patch (8907), cuDNN 9 major * 10000 + minor * 100 + patch (90100), so a value of 90000 or
     * more is 9 (an 8.x value stays below 9000). Any other major is refused with one line.
     */
    static CudnnStatus forVersion(long cudnnGetVersion) {
        int major = major(cudnnGetVersion);
        return switch (major) {
            case 8 -> V8;
            case 9 -> V9;
            default -> throw new IllegalStateException("ffm: cuDNN " + describeVersion(cudnnGetVersion)
                    + " is not supported (jgan's FFM binding needs cuDNN 8.9 or 9.x)");
        };
    }

    /** The major version in cudnnGetVersion()'s encoding (see {@link #forVersion}). */
    static int major(long v) {
        return (int) (v >= 90000 ? v / 10000 : v / 1000);
    }

    /** "8.9.7" or "9.1.0" from cudnnGetVersion()'s value. */
    static String describeVersion(long v) {
        return v >= 90000 ? v / 10000 + "." + v / 100 % 100 + "." + v % 100 : v / 1000 + "." + v / 100 % 10 + "." + v % 100;
    }

    int major() { return major; }

    /** The status's name in this major's header; an unnamed 9.x sub-code by its category ("CUDNN_STATUS_NOT_SUPPORTED (3099)"). */
    String name(int status) {
        String n = (major == 8 ? NAMES_8 : NAMES_9).get(status);
        if (n != null) return n;
        if (major == 9 && status >= 1000) {
            String category = NAMES_9.get(status / 1000 * 1000);
            if (category != null) return category + " (" + status + ")";
        }
        return "cudnnStatus_t " + status;
    }

    /** Whether {@code status} says the algorithm or problem is not supported: 9 in 8.9, the 3000 category in 9.x. */
    boolean isNotSupported(int status) {
        return major == 8 ? status == 9 : status / 1000 * 1000 == 3000;
    }
}
