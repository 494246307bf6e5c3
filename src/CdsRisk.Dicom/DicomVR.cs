namespace CdsRisk.Dicom;

/// <summary>A value representation (PS3.5 §6.2), stored as its two ASCII bytes in file order (first byte low).</summary>
public readonly record struct DicomVR(ushort Code)
{
    private const ushort CAE = 0x4541;
    private const ushort CAS = 0x5341;
    private const ushort CAT = 0x5441;
    private const ushort CCS = 0x5343;
    private const ushort CDA = 0x4144;
    private const ushort CDS = 0x5344;
    private const ushort CDT = 0x5444;
    private const ushort CFL = 0x4C46;
    private const ushort CFD = 0x4446;
    private const ushort CIS = 0x5349;
    private const ushort CLO = 0x4F4C;
    private const ushort CLT = 0x544C;
    private const ushort COB = 0x424F;
    private const ushort COD = 0x444F;
    private const ushort COF = 0x464F;
    private const ushort COL = 0x4C4F;
    private const ushort COV = 0x564F;
    private const ushort COW = 0x574F;
    private const ushort CPN = 0x4E50;
    private const ushort CSH = 0x4853;
    private const ushort CSL = 0x4C53;
    private const ushort CSQ = 0x5153;
    private const ushort CSS = 0x5353;
    private const ushort CST = 0x5453;
    private const ushort CSV = 0x5653;
    private const ushort CTM = 0x4D54;
    private const ushort CUC = 0x4355;
    private const ushort CUI = 0x4955;
    private const ushort CUL = 0x4C55;
    private const ushort CUN = 0x4E55;
    private const ushort CUR = 0x5255;
    private const ushort CUS = 0x5355;
    private const ushort CUT = 0x5455;
    private const ushort CUV = 0x5655;

    public static readonly DicomVR AE = new(CAE);
    public static readonly DicomVR AS = new(CAS);
    public static readonly DicomVR AT = new(CAT);
    public static readonly DicomVR CS = new(CCS);
    public static readonly DicomVR DA = new(CDA);
    public static readonly DicomVR DS = new(CDS);
    public static readonly DicomVR DT = new(CDT);
    public static readonly DicomVR FL = new(CFL);
    public static readonly DicomVR FD = new(CFD);
    public static readonly DicomVR IS = new(CIS);
    public static readonly DicomVR LO = new(CLO);
    public static readonly DicomVR LT = new(CLT);
    public static readonly DicomVR OB = new(COB);
    public static readonly DicomVR OD = new(COD);
    public static readonly DicomVR OF = new(COF);
    public static readonly DicomVR OL = new(COL);
    public static readonly DicomVR OV = new(COV);
    public static readonly DicomVR OW = new(COW);
    public static readonly DicomVR PN = new(CPN);
    public static readonly DicomVR SH = new(CSH);
    public static readonly DicomVR SL = new(CSL);
    public static readonly DicomVR SQ = new(CSQ);
    public static readonly DicomVR SS = new(CSS);
    public static readonly DicomVR ST = new(CST);
    public static readonly DicomVR SV = new(CSV);
    public static readonly DicomVR TM = new(CTM);
    public static readonly DicomVR UC = new(CUC);
    public static readonly DicomVR UI = new(CUI);
    public static readonly DicomVR UL = new(CUL);
    public static readonly DicomVR UN = new(CUN);
    public static readonly DicomVR UR = new(CUR);
    public static readonly DicomVR US = new(CUS);
    public static readonly DicomVR UT = new(CUT);
    public static readonly DicomVR UV = new(CUV);

    /// <summary>Dictionary-only codes for the ambiguous VRs of PS3.6 ("US or SS", "OB or OW", "US or OW"), resolved by the reader.</summary>
    internal static readonly DicomVR UsOrSs = Parse("xs"), ObOrOw = Parse("ox"), UsOrOw = Parse("lt"), None = Parse("NO");

    public static DicomVR Parse(string text) => text.Length == 2 ? new((ushort)(text[0] | (text[1] << 8))) : throw new ArgumentException("A VR has two characters.", nameof(text));

    /// <summary>True for the VRs that PS3.5 §7.1.2 gives 2 reserved bytes and a 4-byte length in explicit VR.</summary>
    public bool HasLongLength => Code is COB or COD or COF or COL or COV or COW or CSQ or CSV or CUC or CUN or CUR or CUT or CUV;

    /// <summary>True for the 34 VRs defined by PS3.5.</summary>
    public bool IsKnown => Kind != DicomVRKind.Unknown;

    public DicomVRKind Kind => Code switch
    {
        CAE or CAS or CCS or CDA or CDT or CTM or CUI or CIS or CDS => DicomVRKind.AsciiString,
        CLO or CSH or CPN or CUC => DicomVRKind.TextString,
        CLT or CST or CUT => DicomVRKind.Text,
        CUR => DicomVRKind.Uri,
        CUS or CSS or CUL or CSL or CFL or CFD or CSV or CUV or CAT => DicomVRKind.Binary,
        COB or COD or COF or COL or COV or COW or CUN => DicomVRKind.Bytes,
        CSQ => DicomVRKind.Sequence,
        _ => DicomVRKind.Unknown,
    };

    /// <summary>Size in bytes of one binary value; 0 for string and byte VRs.</summary>
    public int ValueSize => Code switch
    {
        CUS or CSS => 2,
        CUL or CSL or CFL or CAT => 4,
        CFD or CSV or CUV => 8,
        _ => 0,
    };

    public override string ToString() => string.Create(2, Code, static (span, code) =>
    {
        span[0] = (char)(code & 0xFF);
        span[1] = (char)(code >> 8);
    });
}

/// <summary>How a VR's value is encoded.</summary>
public enum DicomVRKind
{
    Unknown,

    /// <summary>Default character repertoire, backslash-separated values.</summary>
    AsciiString,

    /// <summary>Specific character set applies, backslash-separated values.</summary>
    TextString,

    /// <summary>Specific character set applies, one value that may contain backslashes.</summary>
    Text,

    /// <summary>A URI or URL (UR), one value.</summary>
    Uri,

    /// <summary>Little-endian binary numbers of fixed size (and AT).</summary>
    Binary,

    /// <summary>Opaque bytes (OB, OW, OF, OD, OL, OV, UN).</summary>
    Bytes,

    Sequence,
}
