using System.Buffers.Binary;
using System.Text;

namespace CdsRisk.Dicom;

/// <summary>
/// Writes a minimal Part 10 file in Explicit VR Little Endian (PS3.10 §7.1): enough for synthetic studies in tests,
/// benchmarks and phantoms. Elements are written in ascending tag order, strings padded to even length (PS3.5 §7.1.1).
/// </summary>
public sealed class DicomWriter
{
    private readonly SortedDictionary<uint, (DicomVR Vr, byte[] Value)> _elements = [];

    public DicomWriter Add(DicomTag tag, DicomVR vr, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length % 2 == 1)
        {
            bytes = [.. bytes, vr == DicomVR.UI ? (byte)0 : (byte)' '];
        }

        _elements[tag.Value] = (vr, bytes);
        return this;
    }

    public DicomWriter Add(DicomTag tag, DicomVR vr, params ReadOnlySpan<ushort> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), values[i]);
        }

        _elements[tag.Value] = (vr, bytes);
        return this;
    }

    public DicomWriter AddBytes(DicomTag tag, DicomVR vr, byte[] value)
    {
        _elements[tag.Value] = (vr, value.Length % 2 == 1 ? [.. value, 0] : value);
        return this;
    }

    /// <summary>The Part 10 bytes: preamble, meta information group, then the data set.</summary>
    public byte[] ToPart10(string sopClassUid, string sopInstanceUid)
    {
        var meta = new DicomWriter()
            .AddBytes(new DicomTag(0x0002, 0x0001), DicomVR.OB, [0, 1])
            .Add(DicomTags.MediaStorageSopClassUid, DicomVR.UI, sopClassUid)
            .Add(DicomTags.MediaStorageSopInstanceUid, DicomVR.UI, sopInstanceUid)
            .Add(DicomTags.TransferSyntaxUid, DicomVR.UI, TransferSyntaxes.ExplicitVRLittleEndian)
            .Add(new DicomTag(0x0002, 0x0012), DicomVR.UI, "1.2.826.0.1.3680043.10.1437.1");
        var metaBody = meta.ToDataset();
        using var stream = new MemoryStream();
        stream.Write(new byte[128]);
        stream.Write("DICM"u8);
        var groupLength = new DicomWriter();
        groupLength._elements[DicomTags.FileMetaInformationGroupLength.Value] = (DicomVR.UL, BitConverter.GetBytes((uint)metaBody.Length));
        stream.Write(groupLength.ToDataset());
        stream.Write(metaBody);
        stream.Write(ToDataset());
        return stream.ToArray();
    }

    /// <summary>The data set alone, Explicit VR Little Endian.</summary>
    public byte[] ToDataset()
    {
        using var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[12];
        foreach (var (tagValue, (vr, value)) in _elements)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(tagValue >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)tagValue);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], vr.Code);
            if (vr.HasLongLength)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)value.Length);
                stream.Write(header[..12]);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(header[6..], checked((ushort)value.Length));
                stream.Write(header[..8]);
            }

            stream.Write(value);
        }

        return stream.ToArray();
    }
}
