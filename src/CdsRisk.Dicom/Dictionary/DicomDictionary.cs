namespace CdsRisk.Dicom.Dictionary;

/// <summary>Tag to VR for implicit VR data sets (PS3.5 §7.1.3 leaves the VR to the data dictionary).</summary>
internal static partial class DicomDictionary
{
    /// <summary>The dictionary VR (possibly an ambiguous code), or UN for unknown and private data elements.</summary>
    public static DicomVR Lookup(DicomTag tag)
    {
        var value = tag.Value;
        if (tag.Element == 0x0000)
        {
            return DicomVR.UL; // group length, PS3.5 §7.2
        }

        if (tag.IsPrivate)
        {
            // Private creator data elements (gggg,0010-00FF) are LO (PS3.5 §7.8.1).
            return tag.Element is >= 0x0010 and <= 0x00FF ? DicomVR.LO : DicomVR.UN;
        }

        var index = Tags.BinarySearch(value);
        if (index >= 0)
        {
            return new DicomVR(Vrs[index]);
        }

        var maskValues = MaskValues;
        var masks = Masks;
        for (var i = 0; i < maskValues.Length; i++)
        {
            if ((value & masks[i]) == maskValues[i])
            {
                return new DicomVR(MaskVrs[i]);
            }
        }

        return DicomVR.UN;
    }
}
