package dev.jgan.cuda.ffm;

import dev.jgan.cuda.Dnn;
import jcuda.driver.CUresult;
import jcuda.jcublas.cublasStatus;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgo;
import jcuda.jcudnn.cudnnConvolutionFwdAlgo;
import jcuda.jcudnn.cudnnStatus;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FFM binding's tables, without any library: cuDNN's status codes for 8.9 and 9.x and the
 * version decoding that picks one, the perf-result struct's layout, and the names of statuses and
 * algorithms, which must read exactly as the JNI binding's (JCuda's, JCublas's and JCudnn's
 * {@code stringFor}, plain Java tables) so that a failure or an algorithm choice reads the same
 * through either binding.
 */
class FfmBindingTablesTest {

    @Test
    void cudnnGetVersionsTwoEncodingsPickTheMajorsTable() {
        assertEquals(CudnnStatus.V8, CudnnStatus.forVersion(8907));      // 8.9.7: 8 * 1000 + 9 * 100 + 7
        assertEquals("8.9.7", CudnnStatus.describeVersion(8907));
        assertEquals(CudnnStatus.V9, CudnnStatus.forVersion(90100));     // 9.1.0: 9 * 10000 + 1 * 100 + 0
        assertEquals("9.1.0", CudnnStatus.describeVersion(90100));
        assertEquals("9.10.2", CudnnStatus.describeVersion(91002));      // a two-digit minor only 9's encoding can hold
        assertEquals(9, CudnnStatus.major(91002));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudnnStatus.forVersion(7605));
        assertEquals("ffm: cuDNN 7.6.5 is not supported (jgan's FFM binding needs cuDNN 8.9 or 9.x)", e.getMessage());
    }

    @Test
    void cudnn8StatusesAreTheFlatEnum() {
        CudnnStatus s = CudnnStatus.V8;
        assertEquals("CUDNN_STATUS_SUCCESS", s.name(0));
        assertEquals("CUDNN_STATUS_BAD_PARAM", s.name(3));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED", s.name(8));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED", s.name(9));
        assertEquals("CUDNN_STATUS_VERSION_MISMATCH", s.name(14));
        assertEquals("cudnnStatus_t 3000", s.name(3000), "9's NOT_SUPPORTED means nothing to 8.9");
        assertTrue(s.isNotSupported(9));
        assertFalse(s.isNotSupported(3000));
        assertFalse(s.isNotSupported(3));
    }

    @Test
    void cudnn9StatusesAreCategoriesByThousands() {
        CudnnStatus s = CudnnStatus.V9;
        assertEquals("CUDNN_STATUS_SUCCESS", s.name(0));
        assertEquals("CUDNN_STATUS_NOT_INITIALIZED", s.name(1001));
        assertEquals("CUDNN_STATUS_BAD_PARAM", s.name(2000));
        assertEquals("CUDNN_STATUS_INVALID_VALUE", s.name(2001));
        assertEquals("CUDNN_STATUS_BAD_PARAM_NULL_POINTER", s.name(2002));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED", s.name(3000));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED_SHAPE", s.name(3002));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH", s.name(3007));
        assertEquals("CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED", s.name(4003));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED", s.name(5000));
        assertEquals("CUDNN_STATUS_EXECUTION_FAILED_CUBLAS", s.name(5002));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED (3099)", s.name(3099), "a later minor's sub-code, by its category");
        assertEquals("cudnnStatus_t 9", s.name(9), "8.9's NOT_SUPPORTED is no 9.x value");
        for (int notSupported : new int[] {3000, 3001, 3002, 3013, 3099, 3999}) assertTrue(s.isNotSupported(notSupported), "" + notSupported);
        for (int other : new int[] {0, 9, 2000, 2999, 4000, 5000}) assertFalse(s.isNotSupported(other), "" + other);
    }

    @Test
    void theCudnn8NamesAreJCudnnsWhereJCudnnKnowsTheCode() {
        for (int code = 0; code <= 14; code++) {
            String jni = cudnnStatus.stringFor(code);
            if (jni.startsWith("INVALID")) continue;
            assertEquals(jni, CudnnStatus.V8.name(code), "code " + code);
        }
    }

    @Test
    void thePerfStructIsTheHeadersLayout() {
        // {int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3];}
        assertEquals(48, FfmDnn.PERF.byteSize());
        assertEquals(8, FfmDnn.PERF.byteAlignment());
        assertEquals(List.of(0L, 4L, 8L, 16L, 24L, 28L, 32L), List.of(FfmDnn.PERF_ALGO, FfmDnn.PERF_STATUS, FfmDnn.PERF_TIME,
                FfmDnn.PERF_MEMORY, FfmDnn.PERF_DETERMINISM, FfmDnn.PERF.byteOffset(groupElement("mathType")),
                FfmDnn.PERF.byteOffset(groupElement("reserved"))));
    }

    @Test
    void theAlgorithmNamesAndCountsAreJCudnns() {
        assertEquals(cudnnConvolutionFwdAlgo.CUDNN_CONVOLUTION_FWD_ALGO_COUNT, FfmDnn.algorithmNames(Dnn.Direction.FORWARD).size());
        assertEquals(cudnnConvolutionBwdDataAlgo.CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, FfmDnn.algorithmNames(Dnn.Direction.BACKWARD_DATA).size());
        assertEquals(cudnnConvolutionBwdFilterAlgo.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                FfmDnn.algorithmNames(Dnn.Direction.BACKWARD_FILTER).size());
        for (int i = 0; i < FfmDnn.FORWARD_ALGOS.size(); i++)
            assertEquals(cudnnConvolutionFwdAlgo.stringFor(i), FfmDnn.FORWARD_ALGOS.get(i));
        for (int i = 0; i < FfmDnn.BACKWARD_DATA_ALGOS.size(); i++)
            assertEquals(cudnnConvolutionBwdDataAlgo.stringFor(i), FfmDnn.BACKWARD_DATA_ALGOS.get(i));
        for (int i = 0; i < FfmDnn.BACKWARD_FILTER_ALGOS.size(); i++)
            assertEquals(cudnnConvolutionBwdFilterAlgo.stringFor(i), FfmDnn.BACKWARD_FILTER_ALGOS.get(i));
    }

    @Test
    void theDriverAndCublasNamesAreJCudasWhereJCudaKnowsTheCode() {
        int compared = 0;
        for (Map.Entry<Integer, String> e : CuResult.names().entrySet()) {
            String jni = CUresult.stringFor(e.getKey());
            if (jni.startsWith("INVALID CUresult")) continue;
            assertEquals(jni, e.getValue(), "CUresult " + e.getKey());
            compared++;
        }
        assertTrue(compared > 60, compared + " codes compared");
        assertEquals("CUresult 12345", CuResult.name(12345));
        for (int code : new int[] {0, 1, 3, 7, 8, 11, 13, 14, 15, 16}) {
            String jni = cublasStatus.stringFor(code);
            if (!jni.startsWith("INVALID")) assertEquals(jni, FfmBlas.statusName(code), "cublasStatus_t " + code);
        }
    }
}
