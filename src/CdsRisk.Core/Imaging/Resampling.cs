namespace CdsRisk.Core.Imaging;

/// <summary>
/// Index-space linear interpolation with align_corners=False semantics (docs/contracts.md §2): output index k maps to
/// input coordinate (k + 0.5) × n_in / n_out − 0.5, clamped to [0, n_in − 1]. Trilinear interpolation is separable, so
/// slices are reduced in-plane first (bilinear) and then along the slice axis, with the same result as one trilinear pass.
/// </summary>
public static class Resampling
{
    /// <summary>For each output index: the lower input index and the weight of the upper one (upper = min(lower + 1, n_in − 1)).</summary>
    public static void AxisWeights(int inputLength, int outputLength, Span<int> lower, Span<float> weight)
    {
        var scale = (double)inputLength / outputLength;
        for (var k = 0; k < outputLength; k++)
        {
            var x = Math.Clamp((k + 0.5) * scale - 0.5, 0, inputLength - 1);
            var i0 = (int)Math.Floor(x);
            lower[k] = i0;
            weight[k] = (float)(x - i0);
        }
    }

    /// <summary>Bilinear reduction of one rows × columns plane to height × width.</summary>
    public static void ResamplePlane(ReadOnlySpan<float> source, int rows, int columns, Span<float> destination, int height, int width)
    {
        Span<int> y0 = stackalloc int[height];
        Span<float> wy = stackalloc float[height];
        Span<int> x0 = stackalloc int[width];
        Span<float> wx = stackalloc float[width];
        AxisWeights(rows, height, y0, wy);
        AxisWeights(columns, width, x0, wx);
        for (var r = 0; r < height; r++)
        {
            var top = source.Slice(y0[r] * columns, columns);
            var bottom = source.Slice(Math.Min(y0[r] + 1, rows - 1) * columns, columns);
            var fy = wy[r];
            var output = destination.Slice(r * width, width);
            for (var c = 0; c < width; c++)
            {
                var xa = x0[c];
                var xb = Math.Min(xa + 1, columns - 1);
                var fx = wx[c];
                var t = top[xa] + (top[xb] - top[xa]) * fx;
                var b = bottom[xa] + (bottom[xb] - bottom[xa]) * fx;
                output[c] = t + (b - t) * fy;
            }
        }
    }

    /// <summary>Linear interpolation along the slice axis: planes of equal size, sorted, to depth planes.</summary>
    public static void ResampleDepth(IReadOnlyList<float[]> planes, Span<float> destination, int depth)
    {
        var planeSize = planes[0].Length;
        Span<int> z0 = stackalloc int[depth];
        Span<float> wz = stackalloc float[depth];
        AxisWeights(planes.Count, depth, z0, wz);
        for (var k = 0; k < depth; k++)
        {
            var a = planes[z0[k]].AsSpan();
            var b = planes[Math.Min(z0[k] + 1, planes.Count - 1)].AsSpan();
            var f = wz[k];
            var output = destination.Slice(k * planeSize, planeSize);
            for (var i = 0; i < planeSize; i++)
            {
                output[i] = a[i] + (b[i] - a[i]) * f;
            }
        }
    }

    /// <summary>(v − mean) / max(std, minStd), clipped to ±clip, in place; returns the mean and (population) std before normalising.</summary>
    public static (double Mean, double Std) Normalise(Span<float> volume, float minStd, float clip)
    {
        double sum = 0;
        foreach (var v in volume)
        {
            sum += v;
        }

        var mean = sum / volume.Length;
        double squares = 0;
        foreach (var v in volume)
        {
            var d = v - mean;
            squares += d * d;
        }

        var std = Math.Sqrt(squares / volume.Length);
        var scale = (float)(1.0 / Math.Max(std, minStd));
        var m = (float)mean;
        for (var i = 0; i < volume.Length; i++)
        {
            volume[i] = Math.Clamp((volume[i] - m) * scale, -clip, clip);
        }

        return (mean, std);
    }
}
