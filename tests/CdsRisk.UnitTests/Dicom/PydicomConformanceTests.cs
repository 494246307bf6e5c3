using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Dicom;

/// <summary>
/// Every file of Debian python3-pydicom's test_files is either read with the values pydicom reads
/// (fixture TestData/pydicom/pydicom-reading.json, made by Dicom/dump_pydicom.py) or refused with the expected typed error.
/// </summary>
public sealed class PydicomConformanceTests
{
    private static readonly string DataDirectory = Path.Combine(AppContext.BaseDirectory, "TestData", "pydicom");

    /// <summary>Files that are not DICOM (pydicom only "reads" them with force=True) or that end inside an element.</summary>
    private static readonly Dictionary<string, DicomReadError> ExplicitRefusals = new()
    {
        ["README.txt"] = DicomReadError.NotDicom,
        ["dicomdirtests/README.txt"] = DicomReadError.NotDicom,
        ["dicomdirtests/TINY_ALPHA/README"] = DicomReadError.NotDicom,
        ["rtplan.dump"] = DicomReadError.NotDicom,
        ["rtstruct.dump"] = DicomReadError.NotDicom,
        ["test1.json"] = DicomReadError.NotDicom,
        ["test_PN.json"] = DicomReadError.NotDicom,
        ["zipMR.gz"] = DicomReadError.NotDicom,
        // One stray byte before the first element: pydicom's forced read yields one meaningless (0820,0500) UN element.
        ["no_meta.dcm"] = DicomReadError.NotDicom,
        ["MR_truncated.dcm"] = DicomReadError.LengthPastEnd,
        // pydicom reads these lazily and short; the last element (or directory record item) runs past the end of the file.
        ["rtplan_truncated.dcm"] = DicomReadError.LengthPastEnd,
        ["dicomdirtests/DICOMDIR-nooffset"] = DicomReadError.LengthPastEnd,
    };

    private static readonly JsonElement Fixture = LoadFixture();

    private static JsonElement LoadFixture()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DataDirectory, "pydicom-reading.json")));
        return document.RootElement.GetProperty("files").Clone();
    }

    public static TheoryData<string> AllFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Fixture.EnumerateObject())
        {
            data.Add(file.Name);
        }

        return data;
    }

    [Fact]
    public void Fixture_CoversEveryCopiedFile()
    {
        var onDisk = Directory.EnumerateFiles(DataDirectory, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(DataDirectory, p).Replace('\\', '/'))
            .Where(p => p is not ("pydicom-reading.json" or "LICENSE-pydicom.txt"))
            .Order().ToArray();
        var inFixture = Fixture.EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(inFixture, onDisk);
        Assert.True(onDisk.Length >= 160);
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void File_IsReadLikePydicomOrRefusedWithTypedError(string relativePath)
    {
        var bytes = File.ReadAllBytes(Path.Combine(DataDirectory, relativePath));
        var expected = Fixture.GetProperty(relativePath);
        var refusal = ExpectedRefusal(relativePath, expected);
        if (refusal is { } reason)
        {
            var ex = Assert.Throws<DicomReadException>(() => DicomReader.Read(bytes));
            Assert.Equal(reason, ex.Reason);
            Assert.True(ex.Offset >= 0);
            return;
        }

        var file = DicomReader.Read(bytes);
        if (!expected.GetProperty("read").GetBoolean())
        {
            return; // badVR.dcm, checked by its own test
        }

        Assert.Equal(expected.GetProperty("preamble").GetBoolean(), file.HasPreamble);
        CompareDataset(expected.GetProperty("meta"), file.Meta, relativePath + " meta");
        CompareDataset(expected.GetProperty("elements"), file.Dataset, relativePath);
        ComparePixels(expected, file.Dataset, relativePath);
    }

    [Fact]
    public void BadVRFile_IsRead_AndItsInvalidDecimalStringIsATypedValueError()
    {
        // pydicom fails on this file converting Number of Frames (IS) "1A"; the data set itself is well formed.
        var file = DicomReader.Read(File.ReadAllBytes(Path.Combine(DataDirectory, "badVR.dcm")));
        var ex = Assert.Throws<DicomReadException>(() => file.Dataset.GetInt32(DicomTags.NumberOfFrames));
        Assert.Equal(DicomReadError.InvalidValue, ex.Reason);
        Assert.Equal(DicomTags.NumberOfFrames, ex.Tag);
        Assert.Equal(10, file.Dataset.GetInt32(DicomTags.Rows));
        Assert.Throws<DicomReadException>(() => DicomPixelData.From(file.Dataset));
    }

    private static DicomReadError? ExpectedRefusal(string path, JsonElement expected)
    {
        if (path == "badVR.dcm")
        {
            return null;
        }

        if (ExplicitRefusals.TryGetValue(path, out var reason))
        {
            return reason;
        }

        Assert.True(expected.GetProperty("read").GetBoolean(), $"{path}: pydicom could not read it and no refusal is expected");
        if (!expected.GetProperty("littleEndian").GetBoolean())
        {
            return DicomReadError.BigEndian;
        }

        var ts = expected.GetProperty("transferSyntax");
        var hasPixelData = expected.GetProperty("elements").EnumerateArray().Any(e => e.GetProperty("tag").GetString() == "7FE00010");
        if (ts.ValueKind == JsonValueKind.String && TransferSyntaxes.IsEncapsulated(ts.GetString()!) && hasPixelData)
        {
            return DicomReadError.EncapsulatedPixelData;
        }

        return null;
    }

    private static void CompareDataset(JsonElement expected, DicomDataset actual, string where)
    {
        var expectedTags = expected.EnumerateArray().Select(e => e.GetProperty("tag").GetString()!).ToArray();
        var actualTags = actual.Elements.Select(e => e.Tag.ToHex()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedTags, actualTags);
        foreach (var entry in expected.EnumerateArray())
        {
            var tag = DicomTag.FromValue(Convert.ToUInt32(entry.GetProperty("tag").GetString(), 16));
            var element = actual.Find(tag)!;
            var at = $"{where} {tag}";
            if (!entry.TryGetProperty("vr", out var vr))
            {
                Assert.True(entry.GetProperty("length").GetInt32() == element.Length, $"{at}: length");
                continue;
            }

            Assert.True(vr.GetString() == element.VR.ToString(), $"{at}: VR {element.VR}, pydicom {vr.GetString()}");
            if (entry.TryGetProperty("items", out var items))
            {
                Assert.True(items.GetArrayLength() == element.Items.Count, $"{at}: item count");
                var i = 0;
                foreach (var item in items.EnumerateArray())
                {
                    CompareDataset(item, element.Items[i], $"{at}[{i}]");
                    i++;
                }
            }
            else if (entry.TryGetProperty("sha256", out var sha))
            {
                Assert.True(entry.GetProperty("length").GetInt32() == element.Length, $"{at}: length");
                Assert.True(sha.GetString() == Convert.ToHexStringLower(SHA256.HashData(element.Value.Span)), $"{at}: bytes");
            }
            else
            {
                CompareValues(entry.GetProperty("values"), element, actual.CharacterSet, at);
            }
        }
    }

    private static void CompareValues(JsonElement expected, DicomElement element, DicomCharacterSet characterSet, string at)
    {
        var values = expected.EnumerateArray().ToArray();
        switch (element.VR.Kind)
        {
            case DicomVRKind.AsciiString when element.VR == DicomVR.IS || element.VR == DicomVR.DS:
            case DicomVRKind.Binary when element.VR != DicomVR.AT:
                var numbers = element.GetNumbers();
                var expectedNumbers = values.Where(v => v.ValueKind != JsonValueKind.Null).Select(v => v.GetDouble()).ToArray();
                Assert.True(expectedNumbers.Length == numbers.Length, $"{at}: {numbers.Length} values, pydicom {expectedNumbers.Length}");
                for (var i = 0; i < numbers.Length; i++)
                {
                    Assert.True(Math.Abs(expectedNumbers[i] - numbers[i]) <= 1e-9 * Math.Max(1, Math.Abs(numbers[i])), $"{at}: {numbers[i]} != {expectedNumbers[i]}");
                }

                break;
            case DicomVRKind.Binary:
                Assert.Equal(values.Select(v => (uint)v.GetInt64()), element.GetTags().Select(t => t.Value));
                break;
            default:
                var strings = element.GetStrings(characterSet);
                var expectedStrings = values.Select(v => v.GetString()!.Trim(' ', '\0')).ToArray();
                if (expectedStrings.All(s => s.Length == 0))
                {
                    expectedStrings = [];
                }

                Assert.True(expectedStrings.SequenceEqual(strings), $"{at}: [{string.Join("|", strings)}] != pydicom [{string.Join("|", expectedStrings)}]");
                break;
        }
    }

    private static void ComparePixels(JsonElement expected, DicomDataset dataset, string path)
    {
        if (!expected.TryGetProperty("pixels", out var pixels) || pixels.ValueKind == JsonValueKind.Null)
        {
            Assert.False(dataset.Contains(DicomTags.PixelData), $"{path}: pixel data present but pydicom saw none");
            return;
        }

        if (pixels.TryGetProperty("error", out _) || (dataset.GetInt32(DicomTags.SamplesPerPixel) ?? 1) != 1
            || dataset.GetInt32(DicomTags.BitsAllocated) is not (8 or 16 or 32))
        {
            // pydicom cannot decode it either, or it is colour or 1-bit: the reader must refuse with a typed error.
            Assert.Throws<DicomReadException>(() =>
            {
                var p = DicomPixelData.From(dataset);
                p.ReadStoredValues(0, new int[p.PixelsPerFrame]);
            });
            return;
        }

        var pixelData = DicomPixelData.From(dataset);
        var all = new List<double>(pixelData.PixelsPerFrame * pixelData.FrameCount);
        var frame = new int[pixelData.PixelsPerFrame];
        for (var f = 0; f < pixelData.FrameCount; f++)
        {
            pixelData.ReadStoredValues(f, frame);
            all.AddRange(frame.Select(v => (double)v));
        }

        var shape = pixels.GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).Aggregate(1L, (a, b) => a * b);
        Assert.Equal(shape, all.Count);
        Assert.Equal(pixels.GetProperty("sum").GetDouble(), all.Sum());
        Assert.Equal(pixels.GetProperty("min").GetDouble(), all.Min());
        Assert.Equal(pixels.GetProperty("max").GetDouble(), all.Max());
        Assert.Equal(pixels.GetProperty("first").EnumerateArray().Select(v => v.GetDouble()), all.Take(16));
        Assert.Equal(pixels.GetProperty("last").EnumerateArray().Select(v => v.GetDouble()), all.TakeLast(16));
    }
}
