using CdsRisk.Core.Imaging;

namespace CdsRisk.UnitTests.Imaging;

public sealed class ResamplingTests
{
    [Fact]
    public void AxisWeights_FollowAlignCornersFalse()
    {
        var lower = new int[2];
        var weight = new float[2];
        Resampling.AxisWeights(4, 2, lower, weight); // x = (k + 0.5) * 2 - 0.5 → 0.5, 2.5
        Assert.Equal([0, 2], lower);
        Assert.Equal([0.5f, 0.5f], weight);

        var up = new int[8];
        var upWeight = new float[8];
        Resampling.AxisWeights(2, 8, up, upWeight); // x = (k + 0.5) / 4 - 0.5, clamped to [0, 1]
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1], up);
        Assert.Equal(0f, upWeight[0]);
        Assert.Equal(0.125f, upWeight[2]);
        Assert.Equal(0f, upWeight[7]);
    }

    [Fact]
    public void SeparableResampling_EqualsDirectTrilinear()
    {
        const int d = 7, h = 13, w = 11, od = 4, oh = 5, ow = 6;
        var random = new Random(3);
        var volume = Enumerable.Range(0, d * h * w).Select(_ => (float)random.NextDouble()).ToArray();
        var planes = new List<float[]>();
        for (var z = 0; z < d; z++)
        {
            var plane = new float[oh * ow];
            Resampling.ResamplePlane(volume.AsSpan(z * h * w, h * w), h, w, plane, oh, ow);
            planes.Add(plane);
        }

        var output = new float[od * oh * ow];
        Resampling.ResampleDepth(planes, output, od);

        static double Coordinate(int k, int nIn, int nOut) => Math.Clamp((k + 0.5) * nIn / nOut - 0.5, 0, nIn - 1);
        for (var z = 0; z < od; z++)
        {
            for (var y = 0; y < oh; y++)
            {
                for (var x = 0; x < ow; x++)
                {
                    double cz = Coordinate(z, d, od), cy = Coordinate(y, h, oh), cx = Coordinate(x, w, ow);
                    double expected = 0;
                    foreach (var (iz, wz) in Corners(cz, d))
                    {
                        foreach (var (iy, wy) in Corners(cy, h))
                        {
                            foreach (var (ix, wx) in Corners(cx, w))
                            {
                                expected += wz * wy * wx * volume[(iz * h + iy) * w + ix];
                            }
                        }
                    }

                    Assert.Equal(expected, output[(z * oh + y) * ow + x], 5);
                }
            }
        }
    }

    private static (int Index, double Weight)[] Corners(double c, int n)
    {
        var lo = (int)Math.Floor(c);
        var f = c - lo;
        return [(lo, 1 - f), (Math.Min(lo + 1, n - 1), f)];
    }

    [Fact]
    public void Normalise_ZScoresWithPopulationStd_AndClips()
    {
        var values = new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 100 };
        var (mean, std) = Resampling.Normalise(values, 1e-6f, 2);
        Assert.Equal(10, mean, 6);
        Assert.Equal(30, std, 6); // population std of nine 0 and one 100
        Assert.Equal(-1f / 3, values[0], 5);
        Assert.Equal(2f, values[9]); // 3.0 clipped to 2

        var constant = new float[] { 4, 4, 4 };
        Resampling.Normalise(constant, 1e-6f, 5);
        Assert.All(constant, v => Assert.Equal(0f, v));
    }
}
