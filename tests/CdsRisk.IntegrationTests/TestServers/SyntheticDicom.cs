using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CdsRisk.IntegrationTests.TestServers;

/// <summary>
/// Writes small, valid MR images (DICOM Part 10, explicit VR little endian, PS3.10 §7.1) so that each test can put
/// its own study into Orthanc without the phantom generator.
/// </summary>
public static class SyntheticDicom
{
    private const string MrImageStorage = "1.2.840.10008.5.1.4.1.1.4";
    private const string ExplicitVrLittleEndian = "1.2.840.10008.1.2.1";

    /// <summary>A fresh UID under the 2.25 (UUID-derived) root, PS3.5 §B.2.</summary>
    public static string NewUid() => "2.25." + new System.Numerics.BigInteger(Guid.NewGuid().ToByteArray(), isUnsigned: true).ToString(CultureInfo.InvariantCulture);

    /// <summary>One 16-bit MR slice of <paramref name="rows"/> × <paramref name="columns"/> with a gradient.</summary>
    public static byte[] MrSlice(string patientId, string studyUid, string seriesUid, int instanceNumber, string seriesDescription = "T1 pre", string studyDate = "20260101", int rows = 8, int columns = 8)
    {
        var sopUid = NewUid();
        var dataset = new List<byte>();
        void El(ushort group, ushort element, string vr, byte[] value) => dataset.AddRange(Element(group, element, vr, value));
        El(0x0008, 0x0016, "UI", Ui(MrImageStorage));
        El(0x0008, 0x0018, "UI", Ui(sopUid));
        El(0x0008, 0x0020, "DA", Text(studyDate));
        El(0x0008, 0x0060, "CS", Text("MR"));
        El(0x0008, 0x103E, "LO", Text(seriesDescription));
        El(0x0010, 0x0010, "PN", Text("Test^Patient"));
        El(0x0010, 0x0020, "LO", Text(patientId));
        El(0x0020, 0x000D, "UI", Ui(studyUid));
        El(0x0020, 0x000E, "UI", Ui(seriesUid));
        El(0x0020, 0x0011, "IS", Text("1"));
        El(0x0020, 0x0013, "IS", Text(instanceNumber.ToString(CultureInfo.InvariantCulture)));
        El(0x0020, 0x0032, "DS", Text($"0\\0\\{instanceNumber * 5}"));
        El(0x0020, 0x0037, "DS", Text("1\\0\\0\\0\\1\\0"));
        El(0x0028, 0x0002, "US", U16(1));
        El(0x0028, 0x0004, "CS", Text("MONOCHROME2"));
        El(0x0028, 0x0010, "US", U16((ushort)rows));
        El(0x0028, 0x0011, "US", U16((ushort)columns));
        El(0x0028, 0x0030, "DS", Text("1\\1"));
        El(0x0028, 0x0100, "US", U16(16));
        El(0x0028, 0x0101, "US", U16(16));
        El(0x0028, 0x0102, "US", U16(15));
        El(0x0028, 0x0103, "US", U16(0));
        var pixels = new byte[rows * columns * 2];
        for (var i = 0; i < rows * columns; i++) BinaryPrimitives.WriteUInt16LittleEndian(pixels.AsSpan(i * 2), (ushort)(i * 10 + instanceNumber));
        El(0x7FE0, 0x0010, "OW", pixels);

        var meta = new List<byte>();
        meta.AddRange(Element(0x0002, 0x0001, "OB", [0, 1]));
        meta.AddRange(Element(0x0002, 0x0002, "UI", Ui(MrImageStorage)));
        meta.AddRange(Element(0x0002, 0x0003, "UI", Ui(sopUid)));
        meta.AddRange(Element(0x0002, 0x0010, "UI", Ui(ExplicitVrLittleEndian)));
        meta.AddRange(Element(0x0002, 0x0012, "UI", Ui("2.25.1")));
        var file = new List<byte>(new byte[128]);
        file.AddRange("DICM"u8.ToArray());
        file.AddRange(Element(0x0002, 0x0000, "UL", U32((uint)meta.Count)));
        file.AddRange(meta);
        file.AddRange(dataset);
        return [.. file];
    }

    private static byte[] Element(ushort group, ushort element, string vr, byte[] value)
    {
        var longForm = vr is "OB" or "OW" or "SQ" or "UN" or "UT";
        var header = new byte[longForm ? 12 : 8];
        BinaryPrimitives.WriteUInt16LittleEndian(header, group);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), element);
        header[4] = (byte)vr[0];
        header[5] = (byte)vr[1];
        if (longForm) BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)value.Length);
        else BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), (ushort)value.Length);
        return [.. header, .. value];
    }

    private static byte[] Ui(string uid) => Pad(Encoding.ASCII.GetBytes(uid), 0);

    private static byte[] Text(string s) => Pad(Encoding.ASCII.GetBytes(s), (byte)' ');

    private static byte[] Pad(byte[] b, byte pad) => b.Length % 2 == 0 ? b : [.. b, pad];

    private static byte[] U16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }
}
