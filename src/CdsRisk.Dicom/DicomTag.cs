namespace CdsRisk.Dicom;

/// <summary>A DICOM attribute tag (group, element).</summary>
public readonly record struct DicomTag(ushort Group, ushort Element)
{
    public uint Value => ((uint)Group << 16) | Element;

    public override string ToString() => $"({Group:X4},{Element:X4})";
}
