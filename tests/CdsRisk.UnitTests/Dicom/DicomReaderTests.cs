using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Dicom;

public sealed class DicomReaderTests
{
    private const string MrImageStorage = "1.2.840.10008.5.1.4.1.1.4";

    private static DicomWriter Image(ushort rows, ushort columns, ushort bitsStored, ushort signed, byte[] pixels, int frames = 1) =>
        new DicomWriter()
            .Add(DicomTags.SopClassUid, DicomVR.UI, MrImageStorage)
            .Add(DicomTags.Modality, DicomVR.CS, "MR")
            .Add(DicomTags.SamplesPerPixel, DicomVR.US, 1)
            .Add(DicomTags.PhotometricInterpretation, DicomVR.CS, "MONOCHROME2")
            .Add(DicomTags.NumberOfFrames, DicomVR.IS, frames.ToString())
            .Add(DicomTags.Rows, DicomVR.US, rows)
            .Add(DicomTags.Columns, DicomVR.US, columns)
            .Add(DicomTags.BitsAllocated, DicomVR.US, 16)
            .Add(DicomTags.BitsStored, DicomVR.US, bitsStored)
            .Add(DicomTags.HighBit, DicomVR.US, (ushort)(bitsStored - 1))
            .Add(DicomTags.PixelRepresentation, DicomVR.US, signed)
            .AddBytes(DicomTags.PixelData, DicomVR.OW, pixels);

    private static byte[] Words(params ushort[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), values[i]);
        }

        return bytes;
    }

    [Fact]
    public void Read_ReferencesPixelDataInTheInput_WithoutCopying()
    {
        var bytes = Image(2, 2, 16, 0, Words(1, 2, 3, 4)).ToPart10(MrImageStorage, "1.2.3");
        var file = DicomReader.Read(bytes);
        var pixel = file.Dataset.Find(DicomTags.PixelData)!;
        Assert.True(MemoryMarshal.TryGetArray(pixel.Value, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(bytes.Length - 8, segment.Offset);
        Assert.True(file.HasPreamble);
        Assert.Equal(TransferSyntaxes.ExplicitVRLittleEndian, file.TransferSyntaxUid);
    }

    [Fact]
    public void StoredValues_AreMaskedToBitsStoredAndSignExtended()
    {
        // 12 bits stored, signed: 0x0FFF is -1, 0x0800 is -2048, high garbage bits (0xF000) are masked away.
        var file = DicomReader.Read(Image(1, 4, 12, 1, Words(0x0FFF, 0x0800, 0xF7FF, 0x0001)).ToPart10(MrImageStorage, "1.2.3"));
        var pixels = DicomPixelData.From(file.Dataset);
        var values = new int[4];
        pixels.ReadStoredValues(0, values);
        Assert.Equal([-1, -2048, 2047, 1], values);
    }

    [Fact]
    public void ModalityValues_ApplyRescaleSlopeAndIntercept_PerFrame()
    {
        var file = DicomReader.Read(Image(1, 2, 16, 0, Words(10, 20, 30, 40), frames: 2)
            .Add(DicomTags.RescaleSlope, DicomVR.DS, "0.5")
            .Add(DicomTags.RescaleIntercept, DicomVR.DS, "-100")
            .ToPart10(MrImageStorage, "1.2.3"));
        var pixels = DicomPixelData.From(file.Dataset);
        Assert.Equal(2, pixels.FrameCount);
        var values = new float[2];
        pixels.ReadModalityValues(1, values);
        Assert.Equal([-85f, -80f], values);
        var ex = Assert.Throws<DicomReadException>(() => pixels.GetFrameBytes(2).ToArray());
        Assert.Equal(DicomReadError.UnsupportedPixelData, ex.Reason);
    }

    [Theory]
    [InlineData(16, 0)]
    [InlineData(16, 1)]
    [InlineData(12, 0)]
    [InlineData(12, 1)]
    [InlineData(10, 1)]
    public void VectorisedModalityValues_EqualStoredValuesTimesSlopePlusIntercept(ushort bitsStored, ushort signed)
    {
        var random = new Random(bitsStored * 10 + signed);
        var words = Enumerable.Range(0, 9 * 11).Select(_ => (ushort)random.Next(65536)).ToArray();
        var file = DicomReader.Read(Image(9, 11, bitsStored, signed, Words(words))
            .Add(DicomTags.RescaleSlope, DicomVR.DS, "2.5").Add(DicomTags.RescaleIntercept, DicomVR.DS, "-7")
            .ToPart10(MrImageStorage, "1.2.3"));
        var pixels = DicomPixelData.From(file.Dataset);
        var stored = new int[99];
        var modality = new float[99];
        pixels.ReadStoredValues(0, stored);
        pixels.ReadModalityValues(0, modality);
        Assert.Equal(stored.Select(v => v * 2.5f - 7f), modality);
        Assert.Contains(stored, v => signed == 1 ? v < 0 : v >= 1 << (bitsStored - 1));
    }

    [Fact]
    public void PixelDataShorterThanFrames_IsRefusedWithTag()
    {
        var file = DicomReader.Read(Image(2, 2, 16, 0, Words(1, 2, 3, 4), frames: 2).ToPart10(MrImageStorage, "1.2.3"));
        var ex = Assert.Throws<DicomReadException>(() => DicomPixelData.From(file.Dataset));
        Assert.Equal(DicomReadError.UnsupportedPixelData, ex.Reason);
        Assert.Equal(DicomTags.PixelData, ex.Tag);
    }

    [Fact]
    public void Strings_AreDecodedWithTheSpecificCharacterSet_AndSplitAtBackslash()
    {
        var utf8 = new DicomWriter()
            .Add(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192")
            .Add(DicomTags.ImageType, DicomVR.CS, "ORIGINAL\\PRIMARY\\AXIAL")
            .Add(DicomTags.PatientName, DicomVR.PN, "Müller^Zoë")
            .Add(DicomTags.ImagePositionPatient, DicomVR.DS, "-1.5\\2e1\\+3 ");
        var ds = DicomReader.Read(utf8.ToPart10(MrImageStorage, "1.2.3")).Dataset;
        Assert.Equal(["ORIGINAL", "PRIMARY", "AXIAL"], ds.GetStrings(DicomTags.ImageType));
        Assert.Equal("Müller", ds.GetPersonName(DicomTags.PatientName)!.FamilyName);
        Assert.Equal("Zoë", ds.GetPersonName(DicomTags.PatientName)!.GivenName);
        Assert.Equal([-1.5, 20, 3], ds.GetNumbers(DicomTags.ImagePositionPatient));

        var latin1 = new DicomWriter().Add(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 100")
            .AddBytes(DicomTags.PatientName, DicomVR.PN, Encoding.Latin1.GetBytes("Gómez^Ana"));
        Assert.Equal("Gómez^Ana", DicomReader.Read(latin1.ToPart10(MrImageStorage, "1.2.3")).Dataset.GetString(DicomTags.PatientName));
    }

    [Fact]
    public void UnsupportedCharacterSet_KeepsBytes_AndRefusesToDecodeText_ButNotAsciiVRs()
    {
        var ds = DicomReader.Read(new DicomWriter()
            .Add(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 144")
            .Add(DicomTags.Modality, DicomVR.CS, "MR")
            .AddBytes(DicomTags.PatientName, DicomVR.PN, [0xB8, 0xD2, 0xD0, 0xDD])
            .ToPart10(MrImageStorage, "1.2.3")).Dataset;
        Assert.False(ds.CharacterSet.IsSupported);
        Assert.Equal("MR", ds.GetString(DicomTags.Modality));
        var ex = Assert.Throws<DicomReadException>(() => ds.GetString(DicomTags.PatientName));
        Assert.Equal(DicomReadError.UnsupportedCharacterSet, ex.Reason);
        Assert.Equal(4, ds.Find(DicomTags.PatientName)!.Length);
    }

    [Fact]
    public void Dates_AndTimes_AreParsed()
    {
        var ds = DicomReader.Read(new DicomWriter()
            .Add(DicomTags.StudyDate, DicomVR.DA, "20260115")
            .Add(DicomTags.AcquisitionTime, DicomVR.TM, "093015.25")
            .Add(DicomTags.ContrastBolusStartTime, DicomVR.TM, "0930")
            .ToPart10(MrImageStorage, "1.2.3")).Dataset;
        Assert.Equal(new DateOnly(2026, 1, 15), ds.GetDate(DicomTags.StudyDate));
        Assert.Equal(new TimeOnly(9, 30, 15, 250), ds.GetTime(DicomTags.AcquisitionTime));
        Assert.Equal(new TimeOnly(9, 30), ds.GetTime(DicomTags.ContrastBolusStartTime));
    }

    [Fact]
    public void DeeplyNestedSequences_AreRefused_NotAStackOverflow()
    {
        // 10,000 nested undefined-length sequences, each in an undefined-length item.
        using var stream = new MemoryStream();
        for (var i = 0; i < 10_000; i++)
        {
            stream.Write([0x08, 0x00, 0x15, 0x11, (byte)'S', (byte)'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
            stream.Write([0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }

        var ex = Assert.Throws<DicomReadException>(() => DicomReader.Read(stream.ToArray()));
        Assert.Equal(DicomReadError.NestingTooDeep, ex.Reason);
        Assert.Equal(new DicomTag(0x0008, 0x1115), ex.Tag);
    }

    [Fact]
    public void DeflateBomb_IsRefusedAtTheInflationLimit()
    {
        using var deflated = new MemoryStream();
        using (var deflate = new DeflateStream(deflated, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var header = new DicomWriter().AddBytes(new DicomTag(0x0009, 0x1000), DicomVR.OB, new byte[200 << 20]).ToDataset();
            deflate.Write(header);
        }

        var meta = new DicomWriter().Add(DicomTags.TransferSyntaxUid, DicomVR.UI, TransferSyntaxes.DeflatedExplicitVRLittleEndian).ToDataset();
        byte[] file = [.. new byte[128], .. "DICM"u8, .. meta, .. deflated.ToArray()];
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<DicomReadException>(() => DicomReader.Read(file));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(DicomReadError.InflatedTooLarge, ex.Reason);
        Assert.True(allocated < 200L * file.Length + (8 << 20), $"allocated {allocated} bytes for a {file.Length}-byte input");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ManyTinyElementsOrItems_AllocateASmallMultipleOfTheInput(bool items)
    {
        // Worst case for per-element overhead: 1 MiB of zero-length elements, or of empty items in one sequence.
        using var stream = new MemoryStream();
        stream.Write([0x08, 0x00, 0x05, 0x00, 0, 0, 0, 0]);
        if (items)
        {
            stream.Write([0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        }

        for (var i = 0; i < 1 << 17; i++)
        {
            stream.Write(items ? [0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0] : [0x09, 0x00, (byte)i, (byte)(i >> 8), 0, 0, 0, 0]);
        }

        if (items)
        {
            stream.Write([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        }

        var input = stream.ToArray();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var file = DicomReader.Read(input);
        var ratio = (double)(GC.GetAllocatedBytesForCurrentThread() - before) / input.Length;
        Assert.Equal(items ? 1 << 17 : (1 << 17) + 1, items ? file.Dataset.GetSequence(new DicomTag(0x0008, 0x1115)).Count : file.Dataset.Elements.Count);
        Assert.True(ratio < 40, $"allocated {ratio:F1}x the input");
    }

    [Fact]
    public void ExplicitVRBigEndianWithoutMeta_IsRefusedAsBigEndian()
    {
        byte[] bigEndian = [0x00, 0x08, 0x00, 0x60, (byte)'C', (byte)'S', 0x00, 0x02, (byte)'M', (byte)'R'];
        Assert.Equal(DicomReadError.BigEndian, Assert.Throws<DicomReadException>(() => DicomReader.Read(bigEndian)).Reason);
    }

    [Fact]
    public void EmptyAndTinyInputs_AreNotDicom()
    {
        Assert.Equal(DicomReadError.NotDicom, Assert.Throws<DicomReadException>(() => DicomReader.Read(Array.Empty<byte>())).Reason);
        Assert.Equal(DicomReadError.NotDicom, Assert.Throws<DicomReadException>(() => DicomReader.Read(new byte[] { 8, 0 })).Reason);
    }
}
