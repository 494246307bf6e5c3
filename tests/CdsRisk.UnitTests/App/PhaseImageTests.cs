using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using CdsRisk.Api.App;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Dicom;
using CdsRisk.Dicom.Synthetic;

namespace CdsRisk.UnitTests.App;

/// <summary>Issue 18 item 1: the PNG the detail view shows for each MRI phase, and the windowing that makes it.</summary>
public sealed class PhaseImageTests
{
    /// <summary>A minimal PNG reader for the test: chunks with their CRC checked, IHDR, and the inflated IDAT scanlines.</summary>
    private static (int Width, int Height, byte BitDepth, byte ColourType, byte[] Pixels) Decode(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var offset = 8;
        int width = 0, height = 0;
        byte depth = 0, colour = 0;
        using var idat = new MemoryStream();
        var types = new List<string>();
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(Crc32.HashToUInt32(png.AsSpan(offset + 4, 4 + length)), crc);
            types.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                depth = data[8];
                colour = data[9];
                Assert.Equal([0, 0, 0], data[10..13].ToArray()); // deflate, filter method 0, no interlace
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            offset += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        var bytes = raw.ToArray();
        Assert.Equal(height * (width + 1), bytes.Length);
        var pixels = new byte[width * height];
        for (var y = 0; y < height; y++)
        {
            Assert.Equal(0, bytes[y * (width + 1)]); // filter type None
            Array.Copy(bytes, y * (width + 1) + 1, pixels, y * width, width);
        }

        return (width, height, depth, colour, pixels);
    }

    [Fact]
    public void PngEncoder_WritesGray8WithValidChunksAndThePixels()
    {
        var pixels = Enumerable.Range(0, 7 * 3).Select(i => (byte)(i * 12)).ToArray();
        var (width, height, depth, colour, decoded) = Decode(PngEncoder.Gray8(7, 3, pixels));
        Assert.Equal((7, 3, (byte)8, (byte)0), (width, height, depth, colour));
        Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void PngEncoder_WrongPixelCount_IsRefused() =>
        Assert.Throws<ArgumentException>(() => PngEncoder.Gray8(4, 4, new byte[15]));

    [Fact]
    public void Window_CenterAndWidth_FollowTheDicomLinearFunction()
    {
        // PS3.3 §C.11.2.1.2.1 with c = 100, w = 101: x ≤ 49.5 → 0, x > 149.5 → 255, else ((x − 99.5) / 100 + 0.5) × 255.
        var output = PhaseImages.Window([0f, 49f, 50f, 99.5f, 149f, 150f, 1000f], 100, 101);
        Assert.Equal([0, 0, 1, 128, 254, 255, 255], output);
    }

    [Fact]
    public void Window_WithoutUsableWidth_StretchesMinToMax()
    {
        Assert.Equal([0, 128, 255], PhaseImages.Window([-10f, 0f, 10f], null, null));
        Assert.Equal([0, 128, 255], PhaseImages.Window([-10f, 0f, 10f], 40, 0)); // width < 1 is not a window
        Assert.Equal([0, 0], PhaseImages.Window([5f, 5f], null, null)); // a flat frame stays flat, no division by zero
    }

    [Fact]
    public void Window_Monochrome1AndNonFiniteValues()
    {
        Assert.Equal([255, 0], PhaseImages.Window([0f, 10f], null, null, invert: true));
        Assert.Equal([0, 0, 255], PhaseImages.Window([float.NaN, 0f, 10f], null, null));
    }

    [Fact]
    public void Render_SyntheticMrSlice_IsAPngOfItsSize()
    {
        var study = new SyntheticMrStudy { Rows = 32, Columns = 48 };
        var file = DicomReader.Read(study.Instance(1, 12));
        var (width, height, _, _, pixels) = Decode(PhaseImages.Render(file.Dataset)!);
        Assert.Equal((48, 32), (width, height));
        Assert.True(pixels.Distinct().Count() > 8, "a synthetic slice is not flat");
    }

    [Fact]
    public void Render_LargeSlice_IsScaledToMaxSide()
    {
        var study = new SyntheticMrStudy { Rows = 600, Columns = 1200, Slices = 3 };
        var (width, height, _, _, _) = Decode(PhaseImages.Render(DicomReader.Read(study.Instance(0, 1)).Dataset)!);
        Assert.Equal((PhaseImages.MaxSide, PhaseImages.MaxSide / 2), (width, height));
    }

    [Fact]
    public void Placeholder_EncodesTheReason()
    {
        var svg = PhaseImages.Placeholder("Arterial", "<script>x</script>");
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", svg, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", svg, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TemporalPositionIdentifier=3", true)]
    [InlineData("TemporalPositionIdentifier=2", false)]
    [InlineData("TriggerTime=1500", true)]
    [InlineData("AcquisitionNumber=7", false)]
    [InlineData("Other=3", false)]
    [InlineData("TemporalPositionIdentifier", false)]
    public void QidoInstance_MatchesTheAssemblersTimePointNames(string timePoint, bool expected) =>
        Assert.Equal(expected, new QidoInstance("1.2.3", 5, 3, 1500, null).TimePoint(timePoint));
}
