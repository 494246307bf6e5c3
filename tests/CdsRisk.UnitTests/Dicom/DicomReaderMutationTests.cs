using System.Diagnostics;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Dicom;

/// <summary>Seeded mutations and truncations of real files end in a <see cref="DicomReadException"/> or a good read: nothing else, quickly, in bounded memory.</summary>
public sealed class DicomReaderMutationTests
{
    private static readonly string[] Seeds =
    [
        "MR_small.dcm", "MR_small_implicit.dcm", "image_dfl.dcm", "rtplan.dcm", "nested_priv_SQ.dcm", "UN_sequence.dcm",
        "priv_SQ.dcm", "no_meta_group_length.dcm", "ExplVR_LitEndNoMeta.dcm", "rtdose.dcm", "test-SR.dcm", "dicomdirtests/DICOMDIR",
    ];

    [Fact]
    public void TenThousandMutatedInputs_EndInTypedErrorsOnly_WithinTimeAndMemory()
    {
        var seeds = Seeds.Select(s => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "pydicom", s))).ToArray();
        var random = new Random(20261127);
        var stopwatch = Stopwatch.StartNew();
        int refused = 0, read = 0;
        double worstAllocationRatio = 0;
        var worst = "";
        for (var i = 0; i < 10_000; i++)
        {
            var seedIndex = random.Next(seeds.Length);
            var input = Mutate(seeds[seedIndex], random);
            var before = GC.GetAllocatedBytesForCurrentThread();
            long allocated = 0;
            try
            {
                var file = DicomReader.Read(input);
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Touch(file.Dataset);
                read++;
            }
            catch (DicomReadException ex)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.True(ex.Offset >= -1);
                refused++;
            }

            var ratio = (double)allocated / Math.Max(input.Length, 1024);
            if (ratio > worstAllocationRatio)
            {
                worstAllocationRatio = ratio;
                worst = $"{Seeds[seedIndex]} mutated to {input.Length} bytes allocated {allocated}";
            }
        }

        stopwatch.Stop();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}");
        Assert.True(worstAllocationRatio < 150, $"worst allocation {worstAllocationRatio:F1}x the input ({worst})");
        Assert.True(refused > 1000 && read > 100, $"read {read}, refused {refused}: the mutations should exercise both paths");
    }

    private static void Touch(DicomDataset dataset)
    {
        foreach (var element in dataset.Elements)
        {
            try
            {
                switch (element.VR.Kind)
                {
                    case DicomVRKind.Sequence:
                        foreach (var item in element.Items)
                        {
                            Touch(item);
                        }

                        break;
                    case DicomVRKind.Binary when element.VR == DicomVR.AT:
                        element.GetTags();
                        break;
                    case DicomVRKind.Binary:
                        element.GetNumbers();
                        break;
                    case DicomVRKind.AsciiString when element.VR == DicomVR.IS || element.VR == DicomVR.DS:
                        element.GetNumbers();
                        break;
                    case DicomVRKind.AsciiString or DicomVRKind.TextString or DicomVRKind.Text or DicomVRKind.Uri:
                        element.GetStrings(dataset.CharacterSet);
                        break;
                }
            }
            catch (DicomReadException)
            {
                // a typed refusal of one value is fine
            }
        }

        if (dataset.Contains(DicomTags.PixelData))
        {
            try
            {
                var pixels = DicomPixelData.From(dataset);
                var values = new float[pixels.PixelsPerFrame];
                pixels.ReadModalityValues(pixels.FrameCount - 1, values);
            }
            catch (DicomReadException)
            {
            }
        }
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
                for (var n = random.Next(1, 8); n > 0; n--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                return bytes;
            case 2:
                // Lengths are where parsers break: write 0xFF or large values over 4 aligned bytes.
                var at = random.Next(bytes.Length - 4) & ~1;
                var value = random.Next(3) switch { 0 => 0xFFFFFFFFu, 1 => (uint)random.Next(), _ => (uint)random.Next(0, 64) };
                BitConverter.GetBytes(value).CopyTo(bytes, at);
                return bytes;
            case 3:
                var cut = random.Next(bytes.Length);
                var len = random.Next(1, Math.Min(64, bytes.Length - cut) + 1);
                return [.. bytes[..cut], .. bytes[(cut + len)..]];
            default:
                var from = random.Next(bytes.Length);
                var count = random.Next(1, Math.Min(256, bytes.Length - from) + 1);
                var insertAt = random.Next(bytes.Length);
                return [.. bytes[..insertAt], .. bytes.AsSpan(from, count), .. bytes[insertAt..]];
        }
    }
}
