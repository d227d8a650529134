package tracking

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CountryCode folds a provider's country (ISO 3166-1 alpha-2, alpha-3 or an
// English name) into the alpha-2 code Location.Country holds. Names are
// matched without regard to case, accents, punctuation or a leading "The"
// ("Côte d'Ivoire", "COTE D'IVOIRE" and "Cote dIvoire" are one key), and
// include the usual short forms carriers send ("UK", "UAE", "KSA", "Russia",
// "South Korea"). "UK" becomes "GB"; Kosovo gets the user-assigned "XK" that
// carriers use. Unknown values come back upper-cased and trimmed.
func CountryCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	key := foldName(s)
	if len(key) == 3 {
		if a2, ok := alpha3[key]; ok {
			return a2
		}
	}
	if a2, ok := countryNames[key]; ok {
		return a2
	}
	if len(key) == 2 && isUpperASCII(key) { // "u.s." or "us": already alpha-2
		return key
	}
	return s
}

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// foldName makes the lookup key of a country, state or province name:
// upper case, Latin accents removed, '.' and apostrophes dropped ("U.S.A."
// -> "USA", "d'Ivoire" -> "DIVOIRE"), '&' read as "AND", any other run of
// punctuation or space one space, and a leading "THE " removed.
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is pending
	for _, r := range s {
		r = unicode.ToUpper(r)
		switch {
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
		case r == '.' || r == '\'' || r == '’' || r == '`':
			continue
		case r == '&':
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("AND")
			space = true
			continue
		case r >= utf8.RuneSelf:
			if base, ok := latinBase[r]; ok {
				if space && b.Len() > 0 {
					b.WriteByte(' ')
				}
				space = false
				b.WriteString(base)
				continue
			}
			space = true
			continue
		default:
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimPrefix(b.String(), "THE ")
}

// latinBase strips the accents of the upper-case Latin letters place names
// use (Latin-1 and Latin Extended-A).
var latinBase = func() map[rune]string {
	m := make(map[rune]string, 128)
	for _, p := range []struct{ from, to string }{
		{"ÀÁÂÃÄÅĀĂĄ", "A"}, {"Æ", "AE"}, {"ÇĆĈĊČ", "C"}, {"ĎĐÐ", "D"},
		{"ÈÉÊËĒĔĖĘĚ", "E"}, {"ĜĞĠĢ", "G"}, {"ĤĦ", "H"}, {"ÌÍÎÏĨĪĬĮİ", "I"},
		{"Ĳ", "IJ"}, {"Ĵ", "J"}, {"Ķ", "K"}, {"ĹĻĽĿŁ", "L"}, {"ÑŃŅŇ", "N"},
		{"ÒÓÔÕÖØŌŎŐ", "O"}, {"Œ", "OE"}, {"ŔŖŘ", "R"}, {"ŚŜŞŠ", "S"}, {"ß", "SS"},
		{"ŢŤŦ", "T"}, {"Þ", "TH"}, {"ÙÚÛÜŨŪŬŮŰŲ", "U"}, {"Ŵ", "W"}, {"ÝŶŸ", "Y"},
		{"ŹŻŽ", "Z"},
	} {
		for _, r := range p.from {
			m[r] = p.to
		}
	}
	return m
}()

// alpha3 is ISO 3166-1 alpha-3 -> alpha-2 for every assigned code (from
// the Debian iso-codes package), plus "XKX" for Kosovo.
var alpha3 = map[string]string{
	"ABW": "AW", "AFG": "AF", "AGO": "AO", "AIA": "AI", "ALA": "AX", "ALB": "AL", "AND": "AD", "ARE": "AE",
	"ARG": "AR", "ARM": "AM", "ASM": "AS", "ATA": "AQ", "ATF": "TF", "ATG": "AG", "AUS": "AU", "AUT": "AT",
	"AZE": "AZ", "BDI": "BI", "BEL": "BE", "BEN": "BJ", "BES": "BQ", "BFA": "BF", "BGD": "BD", "BGR": "BG",
	"BHR": "BH", "BHS": "BS", "BIH": "BA", "BLM": "BL", "BLR": "BY", "BLZ": "BZ", "BMU": "BM", "BOL": "BO",
	"BRA": "BR", "BRB": "BB", "BRN": "BN", "BTN": "BT", "BVT": "BV", "BWA": "BW", "CAF": "CF", "CAN": "CA",
	"CCK": "CC", "CHE": "CH", "CHL": "CL", "CHN": "CN", "CIV": "CI", "CMR": "CM", "COD": "CD", "COG": "CG",
	"COK": "CK", "COL": "CO", "COM": "KM", "CPV": "CV", "CRI": "CR", "CUB": "CU", "CUW": "CW", "CXR": "CX",
	"CYM": "KY", "CYP": "CY", "CZE": "CZ", "DEU": "DE", "DJI": "DJ", "DMA": "DM", "DNK": "DK", "DOM": "DO",
	"DZA": "DZ", "ECU": "EC", "EGY": "EG", "ERI": "ER", "ESH": "EH", "ESP": "ES", "EST": "EE", "ETH": "ET",
	"FIN": "FI", "FJI": "FJ", "FLK": "FK", "FRA": "FR", "FRO": "FO", "FSM": "FM", "GAB": "GA", "GBR": "GB",
	"GEO": "GE", "GGY": "GG", "GHA": "GH", "GIB": "GI", "GIN": "GN", "GLP": "GP", "GMB": "GM", "GNB": "GW",
	"GNQ": "GQ", "GRC": "GR", "GRD": "GD", "GRL": "GL", "GTM": "GT", "GUF": "GF", "GUM": "GU", "GUY": "GY",
	"HKG": "HK", "HMD": "HM", "HND": "HN", "HRV": "HR", "HTI": "HT", "HUN": "HU", "IDN": "ID", "IMN": "IM",
	"IND": "IN", "IOT": "IO", "IRL": "IE", "IRN": "IR", "IRQ": "IQ", "ISL": "IS", "ISR": "IL", "ITA": "IT",
	"JAM": "JM", "JEY": "JE", "JOR": "JO", "JPN": "JP", "KAZ": "KZ", "KEN": "KE", "KGZ": "KG", "KHM": "KH",
	"KIR": "KI", "KNA": "KN", "KOR": "KR", "KWT": "KW", "LAO": "LA", "LBN": "LB", "LBR": "LR", "LBY": "LY",
	"LCA": "LC", "LIE": "LI", "LKA": "LK", "LSO": "LS", "LTU": "LT", "LUX": "LU", "LVA": "LV", "MAC": "MO",
	"MAF": "MF", "MAR": "MA", "MCO": "MC", "MDA": "MD", "MDG": "MG", "MDV": "MV", "MEX": "MX", "MHL": "MH",
	"MKD": "MK", "MLI": "ML", "MLT": "MT", "MMR": "MM", "MNE": "ME", "MNG": "MN", "MNP": "MP", "MOZ": "MZ",
	"MRT": "MR", "MSR": "MS", "MTQ": "MQ", "MUS": "MU", "MWI": "MW", "MYS": "MY", "MYT": "YT", "NAM": "NA",
	"NCL": "NC", "NER": "NE", "NFK": "NF", "NGA": "NG", "NIC": "NI", "NIU": "NU", "NLD": "NL", "NOR": "NO",
	"NPL": "NP", "NRU": "NR", "NZL": "NZ", "OMN": "OM", "PAK": "PK", "PAN": "PA", "PCN": "PN", "PER": "PE",
	"PHL": "PH", "PLW": "PW", "PNG": "PG", "POL": "PL", "PRI": "PR", "PRK": "KP", "PRT": "PT", "PRY": "PY",
	"PSE": "PS", "PYF": "PF", "QAT": "QA", "REU": "RE", "ROU": "RO", "RUS": "RU", "RWA": "RW", "SAU": "SA",
	"SDN": "SD", "SEN": "SN", "SGP": "SG", "SGS": "GS", "SHN": "SH", "SJM": "SJ", "SLB": "SB", "SLE": "SL",
	"SLV": "SV", "SMR": "SM", "SOM": "SO", "SPM": "PM", "SRB": "RS", "SSD": "SS", "STP": "ST", "SUR": "SR",
	"SVK": "SK", "SVN": "SI", "SWE": "SE", "SWZ": "SZ", "SXM": "SX", "SYC": "SC", "SYR": "SY", "TCA": "TC",
	"TCD": "TD", "TGO": "TG", "THA": "TH", "TJK": "TJ", "TKL": "TK", "TKM": "TM", "TLS": "TL", "TON": "TO",
	"TTO": "TT", "TUN": "TN", "TUR": "TR", "TUV": "TV", "TWN": "TW", "TZA": "TZ", "UGA": "UG", "UKR": "UA",
	"UMI": "UM", "URY": "UY", "USA": "US", "UZB": "UZ", "VAT": "VA", "VCT": "VC", "VEN": "VE", "VGB": "VG",
	"VIR": "VI", "VNM": "VN", "VUT": "VU", "WLF": "WF", "WSM": "WS", "XKX": "XK", "YEM": "YE", "ZAF": "ZA",
	"ZMB": "ZM", "ZWE": "ZW",
}

// countryNames maps folded English names (foldName) to alpha-2: the ISO
// 3166-1 short, official and common names, and the forms carriers and
// shops actually send. Grouped by code.
var countryNames = map[string]string{
	"ANDORRA": "AD", "PRINCIPALITY OF ANDORRA": "AD",
	"UAE": "AE", "EMIRATES": "AE", "UNITED ARAB EMIRATES": "AE",
	"AFGHANISTAN": "AF", "ISLAMIC REPUBLIC OF AFGHANISTAN": "AF",
	"ANTIGUA AND BARBUDA": "AG",
	"ANGUILLA":            "AI",
	"ALBANIA":             "AL", "REPUBLIC OF ALBANIA": "AL",
	"ARMENIA": "AM", "REPUBLIC OF ARMENIA": "AM",
	"ANGOLA": "AO", "REPUBLIC OF ANGOLA": "AO",
	"ANTARCTICA": "AQ",
	"ARGENTINA":  "AR", "ARGENTINE REPUBLIC": "AR",
	"AMERICAN SAMOA": "AS",
	"AUSTRIA":        "AT", "REPUBLIC OF AUSTRIA": "AT",
	"AUSTRALIA":     "AU",
	"ARUBA":         "AW",
	"ALAND ISLANDS": "AX",
	"AZERBAIJAN":    "AZ", "REPUBLIC OF AZERBAIJAN": "AZ",
	"BOSNIA": "BA", "BOSNIA HERZEGOVINA": "BA", "BOSNIA AND HERZEGOVINA": "BA",
	"REPUBLIC OF BOSNIA AND HERZEGOVINA": "BA",
	"BARBADOS":                           "BB",
	"BANGLADESH":                         "BD", "PEOPLES REPUBLIC OF BANGLADESH": "BD",
	"BELGIUM": "BE", "KINGDOM OF BELGIUM": "BE",
	"BURKINA FASO": "BF",
	"BULGARIA":     "BG", "REPUBLIC OF BULGARIA": "BG",
	"BAHRAIN": "BH", "KINGDOM OF BAHRAIN": "BH",
	"BURUNDI": "BI", "REPUBLIC OF BURUNDI": "BI",
	"BENIN": "BJ", "REPUBLIC OF BENIN": "BJ",
	"ST BARTHELEMY": "BL", "SAINT BARTHELEMY": "BL",
	"BERMUDA": "BM",
	"BRUNEI":  "BN", "BRUNEI DARUSSALAM": "BN",
	"BOLIVIA": "BO", "BOLIVIA PLURINATIONAL STATE OF": "BO", "PLURINATIONAL STATE OF BOLIVIA": "BO",
	"BONAIRE": "BQ", "CARIBBEAN NETHERLANDS": "BQ", "BONAIRE SINT EUSTATIUS AND SABA": "BQ",
	"BRAZIL": "BR", "FEDERATIVE REPUBLIC OF BRAZIL": "BR",
	"BAHAMAS": "BS", "COMMONWEALTH OF THE BAHAMAS": "BS",
	"BHUTAN": "BT", "KINGDOM OF BHUTAN": "BT",
	"BOUVET ISLAND": "BV",
	"BOTSWANA":      "BW", "REPUBLIC OF BOTSWANA": "BW",
	"BELARUS": "BY", "REPUBLIC OF BELARUS": "BY",
	"BELIZE":                "BZ",
	"CANADA":                "CA",
	"COCOS KEELING ISLANDS": "CC",
	"DRC":                   "CD", "DR CONGO": "CD", "CONGO KINSHASA": "CD", "DEMOCRATIC REPUBLIC OF CONGO": "CD",
	"CONGO DEMOCRATIC REPUBLIC OF THE": "CD", "DEMOCRATIC REPUBLIC OF THE CONGO": "CD",
	"CONGO THE DEMOCRATIC REPUBLIC OF THE": "CD",
	"CENTRAL AFRICAN REPUBLIC":             "CF",
	"CONGO":                                "CG", "CONGO REPUBLIC": "CG", "CONGO BRAZZAVILLE": "CG", "REPUBLIC OF CONGO": "CG",
	"CONGO REPUBLIC OF THE": "CG", "REPUBLIC OF THE CONGO": "CG",
	"SWITZERLAND": "CH", "SWISS CONFEDERATION": "CH",
	"IVORY COAST": "CI", "COTE DIVOIRE": "CI", "REPUBLIC OF COTE DIVOIRE": "CI",
	"COOK ISLANDS": "CK",
	"CHILE":        "CL", "REPUBLIC OF CHILE": "CL",
	"CAMEROON": "CM", "REPUBLIC OF CAMEROON": "CM",
	"PRC": "CN", "CHINA": "CN", "MAINLAND CHINA": "CN", "PEOPLES REPUBLIC OF CHINA": "CN",
	"COLOMBIA": "CO", "REPUBLIC OF COLOMBIA": "CO",
	"COSTA RICA": "CR", "REPUBLIC OF COSTA RICA": "CR",
	"CUBA": "CU", "REPUBLIC OF CUBA": "CU",
	"CABO VERDE": "CV", "CAPE VERDE": "CV", "REPUBLIC OF CABO VERDE": "CV",
	"CURACAO":          "CW",
	"CHRISTMAS ISLAND": "CX",
	"CYPRUS":           "CY", "REPUBLIC OF CYPRUS": "CY",
	"CZECH": "CZ", "CZECHIA": "CZ", "CZECH REPUBLIC": "CZ",
	"GERMANY": "DE", "FEDERAL REPUBLIC OF GERMANY": "DE",
	"DJIBOUTI": "DJ", "REPUBLIC OF DJIBOUTI": "DJ",
	"DENMARK": "DK", "KINGDOM OF DENMARK": "DK",
	"DOMINICA": "DM", "COMMONWEALTH OF DOMINICA": "DM",
	"DOMINICAN REPUBLIC": "DO",
	"ALGERIA":            "DZ", "PEOPLES DEMOCRATIC REPUBLIC OF ALGERIA": "DZ",
	"ECUADOR": "EC", "REPUBLIC OF ECUADOR": "EC",
	"ESTONIA": "EE", "REPUBLIC OF ESTONIA": "EE",
	"EGYPT": "EG", "ARAB REPUBLIC OF EGYPT": "EG",
	"WESTERN SAHARA": "EH",
	"ERITREA":        "ER", "STATE OF ERITREA": "ER",
	"SPAIN": "ES", "KINGDOM OF SPAIN": "ES",
	"ETHIOPIA": "ET", "FEDERAL DEMOCRATIC REPUBLIC OF ETHIOPIA": "ET",
	"FINLAND": "FI", "REPUBLIC OF FINLAND": "FI",
	"FIJI": "FJ", "REPUBLIC OF FIJI": "FJ",
	"FALKLAND ISLANDS": "FK", "FALKLAND ISLANDS MALVINAS": "FK",
	"MICRONESIA": "FM", "FEDERATED STATES OF MICRONESIA": "FM", "MICRONESIA FEDERATED STATES OF": "FM",
	"FAROE ISLANDS": "FO",
	"FRANCE":        "FR", "FRENCH REPUBLIC": "FR",
	"GABON": "GA", "GABONESE REPUBLIC": "GA",
	"UK": "GB", "WALES": "GB", "BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "GREAT BRITAIN": "GB",
	"UNITED KINGDOM": "GB", "NORTHERN IRELAND": "GB",
	"UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND": "GB",
	"GRENADA":       "GD",
	"GEORGIA":       "GE",
	"FRENCH GUIANA": "GF",
	"GUERNSEY":      "GG",
	"GHANA":         "GH", "REPUBLIC OF GHANA": "GH",
	"GIBRALTAR": "GI",
	"GREENLAND": "GL",
	"GAMBIA":    "GM", "REPUBLIC OF THE GAMBIA": "GM",
	"GUINEA": "GN", "REPUBLIC OF GUINEA": "GN",
	"GUADELOUPE":        "GP",
	"EQUATORIAL GUINEA": "GQ", "REPUBLIC OF EQUATORIAL GUINEA": "GQ",
	"GREECE": "GR", "HELLENIC REPUBLIC": "GR",
	"SOUTH GEORGIA AND THE SOUTH SANDWICH ISLANDS": "GS",
	"GUATEMALA": "GT", "REPUBLIC OF GUATEMALA": "GT",
	"GUAM":          "GU",
	"GUINEA BISSAU": "GW", "REPUBLIC OF GUINEA BISSAU": "GW",
	"GUYANA": "GY", "REPUBLIC OF GUYANA": "GY",
	"HONG KONG": "HK", "HONG KONG SAR": "HK", "HONG KONG SPECIAL ADMINISTRATIVE REGION OF CHINA": "HK",
	"HEARD ISLAND AND MCDONALD ISLANDS": "HM",
	"HONDURAS":                          "HN", "REPUBLIC OF HONDURAS": "HN",
	"CROATIA": "HR", "REPUBLIC OF CROATIA": "HR",
	"HAITI": "HT", "REPUBLIC OF HAITI": "HT",
	"HUNGARY":   "HU",
	"INDONESIA": "ID", "REPUBLIC OF INDONESIA": "ID",
	"EIRE": "IE", "IRELAND": "IE", "REPUBLIC OF IRELAND": "IE",
	"ISRAEL": "IL", "STATE OF ISRAEL": "IL",
	"ISLE OF MAN": "IM",
	"INDIA":       "IN", "REPUBLIC OF INDIA": "IN",
	"BRITISH INDIAN OCEAN TERRITORY": "IO",
	"IRAQ":                           "IQ", "REPUBLIC OF IRAQ": "IQ",
	"IRAN": "IR", "IRAN ISLAMIC REPUBLIC OF": "IR", "ISLAMIC REPUBLIC OF IRAN": "IR",
	"ICELAND": "IS", "REPUBLIC OF ICELAND": "IS",
	"ITALY": "IT", "ITALIAN REPUBLIC": "IT",
	"JERSEY":  "JE",
	"JAMAICA": "JM",
	"JORDAN":  "JO", "HASHEMITE KINGDOM OF JORDAN": "JO",
	"JAPAN": "JP",
	"KENYA": "KE", "REPUBLIC OF KENYA": "KE",
	"KYRGYZSTAN": "KG", "KYRGYZ REPUBLIC": "KG",
	"CAMBODIA": "KH", "KINGDOM OF CAMBODIA": "KH",
	"KIRIBATI": "KI", "REPUBLIC OF KIRIBATI": "KI",
	"COMOROS": "KM", "UNION OF THE COMOROS": "KM",
	"ST KITTS AND NEVIS": "KN", "SAINT KITTS AND NEVIS": "KN",
	"KOREA NORTH": "KP", "NORTH KOREA": "KP", "DEMOCRATIC PEOPLES REPUBLIC OF KOREA": "KP",
	"KOREA DEMOCRATIC PEOPLES REPUBLIC OF": "KP",
	"KOREA":                                "KR", "KOREA SOUTH": "KR", "SOUTH KOREA": "KR", "KOREA REPUBLIC OF": "KR",
	"REPUBLIC OF KOREA": "KR",
	"KUWAIT":            "KW", "STATE OF KUWAIT": "KW",
	"CAYMAN ISLANDS": "KY",
	"KAZAKHSTAN":     "KZ", "REPUBLIC OF KAZAKHSTAN": "KZ",
	"LAOS": "LA", "LAO PEOPLES DEMOCRATIC REPUBLIC": "LA",
	"LEBANON": "LB", "LEBANESE REPUBLIC": "LB",
	"ST LUCIA": "LC", "SAINT LUCIA": "LC",
	"LIECHTENSTEIN": "LI", "PRINCIPALITY OF LIECHTENSTEIN": "LI",
	"SRI LANKA": "LK", "DEMOCRATIC SOCIALIST REPUBLIC OF SRI LANKA": "LK",
	"LIBERIA": "LR", "REPUBLIC OF LIBERIA": "LR",
	"LESOTHO": "LS", "KINGDOM OF LESOTHO": "LS",
	"LITHUANIA": "LT", "REPUBLIC OF LITHUANIA": "LT",
	"LUXEMBOURG": "LU", "GRAND DUCHY OF LUXEMBOURG": "LU",
	"LATVIA": "LV", "REPUBLIC OF LATVIA": "LV",
	"LIBYA":   "LY",
	"MOROCCO": "MA", "KINGDOM OF MOROCCO": "MA",
	"MONACO": "MC", "PRINCIPALITY OF MONACO": "MC",
	"MOLDOVA": "MD", "MOLDOVA REPUBLIC OF": "MD", "REPUBLIC OF MOLDOVA": "MD",
	"MONTENEGRO": "ME",
	"ST MARTIN":  "MF", "SAINT MARTIN": "MF", "ST MARTIN FRENCH PART": "MF", "SAINT MARTIN FRENCH PART": "MF",
	"MADAGASCAR": "MG", "REPUBLIC OF MADAGASCAR": "MG",
	"MARSHALL ISLANDS": "MH", "REPUBLIC OF THE MARSHALL ISLANDS": "MH",
	"MACEDONIA": "MK", "NORTH MACEDONIA": "MK", "REPUBLIC OF NORTH MACEDONIA": "MK",
	"MALI": "ML", "REPUBLIC OF MALI": "ML",
	"BURMA": "MM", "MYANMAR": "MM", "REPUBLIC OF MYANMAR": "MM",
	"MONGOLIA": "MN",
	"MACAO":    "MO", "MACAO SAR": "MO", "MACAU SAR": "MO", "MACAO SPECIAL ADMINISTRATIVE REGION OF CHINA": "MO",
	"NORTHERN MARIANA ISLANDS": "MP", "COMMONWEALTH OF THE NORTHERN MARIANA ISLANDS": "MP",
	"MARTINIQUE": "MQ",
	"MAURITANIA": "MR", "ISLAMIC REPUBLIC OF MAURITANIA": "MR",
	"MONTSERRAT": "MS",
	"MALTA":      "MT", "REPUBLIC OF MALTA": "MT",
	"MAURITIUS": "MU", "REPUBLIC OF MAURITIUS": "MU",
	"MALDIVES": "MV", "REPUBLIC OF MALDIVES": "MV",
	"MALAWI": "MW", "REPUBLIC OF MALAWI": "MW",
	"MEXICO": "MX", "UNITED MEXICAN STATES": "MX",
	"MALAYSIA":   "MY",
	"MOZAMBIQUE": "MZ", "REPUBLIC OF MOZAMBIQUE": "MZ",
	"NAMIBIA": "NA", "REPUBLIC OF NAMIBIA": "NA",
	"NEW CALEDONIA": "NC",
	"NIGER":         "NE", "REPUBLIC OF THE NIGER": "NE",
	"NORFOLK ISLAND": "NF",
	"NIGERIA":        "NG", "FEDERAL REPUBLIC OF NIGERIA": "NG",
	"NICARAGUA": "NI", "REPUBLIC OF NICARAGUA": "NI",
	"HOLLAND": "NL", "NETHERLANDS": "NL", "KINGDOM OF THE NETHERLANDS": "NL",
	"NORWAY": "NO", "KINGDOM OF NORWAY": "NO",
	"NEPAL": "NP", "FEDERAL DEMOCRATIC REPUBLIC OF NEPAL": "NP",
	"NAURU": "NR", "REPUBLIC OF NAURU": "NR",
	"NIUE":        "NU",
	"NEW ZEALAND": "NZ",
	"OMAN":        "OM", "SULTANATE OF OMAN": "OM",
	"PANAMA": "PA", "REPUBLIC OF PANAMA": "PA",
	"PERU": "PE", "REPUBLIC OF PERU": "PE",
	"FRENCH POLYNESIA": "PF",
	"PAPUA NEW GUINEA": "PG", "INDEPENDENT STATE OF PAPUA NEW GUINEA": "PG",
	"PHILIPPINES": "PH", "REPUBLIC OF THE PHILIPPINES": "PH",
	"PAKISTAN": "PK", "ISLAMIC REPUBLIC OF PAKISTAN": "PK",
	"POLAND": "PL", "REPUBLIC OF POLAND": "PL",
	"ST PIERRE AND MIQUELON": "PM", "SAINT PIERRE AND MIQUELON": "PM",
	"PITCAIRN":    "PN",
	"PUERTO RICO": "PR",
	"PALESTINE":   "PS", "PALESTINE STATE OF": "PS", "STATE OF PALESTINE": "PS", "PALESTINIAN TERRITORIES": "PS",
	"PORTUGAL": "PT", "PORTUGUESE REPUBLIC": "PT",
	"PALAU": "PW", "REPUBLIC OF PALAU": "PW",
	"PARAGUAY": "PY", "REPUBLIC OF PARAGUAY": "PY",
	"QATAR": "QA", "STATE OF QATAR": "QA",
	"REUNION": "RE",
	"ROMANIA": "RO",
	"SERBIA":  "RS", "REPUBLIC OF SERBIA": "RS",
	"RUSSIA": "RU", "RUSSIAN FEDERATION": "RU",
	"RWANDA": "RW", "RWANDESE REPUBLIC": "RW",
	"KSA": "SA", "SAUDI": "SA", "SAUDI ARABIA": "SA", "KINGDOM OF SAUDI ARABIA": "SA",
	"SOLOMON ISLANDS": "SB",
	"SEYCHELLES":      "SC", "REPUBLIC OF SEYCHELLES": "SC",
	"SUDAN": "SD", "REPUBLIC OF THE SUDAN": "SD",
	"SWEDEN": "SE", "KINGDOM OF SWEDEN": "SE",
	"SINGAPORE": "SG", "REPUBLIC OF SINGAPORE": "SG",
	"ST HELENA": "SH", "SAINT HELENA": "SH", "ST HELENA ASCENSION AND TRISTAN DA CUNHA": "SH",
	"SAINT HELENA ASCENSION AND TRISTAN DA CUNHA": "SH",
	"SLOVENIA": "SI", "REPUBLIC OF SLOVENIA": "SI",
	"SVALBARD AND JAN MAYEN": "SJ",
	"SLOVAKIA":               "SK", "SLOVAK REPUBLIC": "SK",
	"SIERRA LEONE": "SL", "REPUBLIC OF SIERRA LEONE": "SL",
	"SAN MARINO": "SM", "REPUBLIC OF SAN MARINO": "SM",
	"SENEGAL": "SN", "REPUBLIC OF SENEGAL": "SN",
	"SOMALIA": "SO", "FEDERAL REPUBLIC OF SOMALIA": "SO",
	"SURINAME": "SR", "REPUBLIC OF SURINAME": "SR",
	"SOUTH SUDAN": "SS", "REPUBLIC OF SOUTH SUDAN": "SS",
	"SAO TOME AND PRINCIPE": "ST", "DEMOCRATIC REPUBLIC OF SAO TOME AND PRINCIPE": "ST",
	"EL SALVADOR": "SV", "REPUBLIC OF EL SALVADOR": "SV",
	"SINT MAARTEN": "SX", "SINT MAARTEN DUTCH PART": "SX",
	"SYRIA": "SY", "SYRIAN ARAB REPUBLIC": "SY",
	"ESWATINI": "SZ", "SWAZILAND": "SZ", "KINGDOM OF ESWATINI": "SZ",
	"TURKS AND CAICOS ISLANDS": "TC",
	"CHAD":                     "TD", "REPUBLIC OF CHAD": "TD",
	"FRENCH SOUTHERN TERRITORIES": "TF",
	"TOGO":                        "TG", "TOGOLESE REPUBLIC": "TG",
	"THAILAND": "TH", "KINGDOM OF THAILAND": "TH",
	"TAJIKISTAN": "TJ", "REPUBLIC OF TAJIKISTAN": "TJ",
	"TOKELAU":    "TK",
	"EAST TIMOR": "TL", "TIMOR LESTE": "TL", "DEMOCRATIC REPUBLIC OF TIMOR LESTE": "TL",
	"TURKMENISTAN": "TM",
	"TUNISIA":      "TN", "REPUBLIC OF TUNISIA": "TN",
	"TONGA": "TO", "KINGDOM OF TONGA": "TO",
	"TURKEY": "TR", "TURKIYE": "TR", "REPUBLIC OF TURKIYE": "TR",
	"TRINIDAD": "TT", "TRINIDAD AND TOBAGO": "TT", "REPUBLIC OF TRINIDAD AND TOBAGO": "TT",
	"TUVALU": "TV",
	"TAIWAN": "TW", "TAIWAN PROVINCE OF CHINA": "TW",
	"TANZANIA": "TZ", "TANZANIA UNITED REPUBLIC OF": "TZ", "UNITED REPUBLIC OF TANZANIA": "TZ",
	"UKRAINE": "UA",
	"UGANDA":  "UG", "REPUBLIC OF UGANDA": "UG",
	"US MINOR OUTLYING ISLANDS": "UM", "UNITED STATES MINOR OUTLYING ISLANDS": "UM",
	"US": "US", "USA": "US", "AMERICA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
	"URUGUAY": "UY", "EASTERN REPUBLIC OF URUGUAY": "UY",
	"UZBEKISTAN": "UZ", "REPUBLIC OF UZBEKISTAN": "UZ",
	"VATICAN": "VA", "HOLY SEE": "VA", "VATICAN CITY": "VA", "HOLY SEE VATICAN CITY STATE": "VA",
	"ST VINCENT AND THE GRENADINES": "VC", "SAINT VINCENT AND THE GRENADINES": "VC",
	"VENEZUELA": "VE", "BOLIVARIAN REPUBLIC OF VENEZUELA": "VE", "VENEZUELA BOLIVARIAN REPUBLIC OF": "VE",
	"BRITISH VIRGIN ISLANDS": "VG", "VIRGIN ISLANDS BRITISH": "VG",
	"US VIRGIN ISLANDS": "VI", "VIRGIN ISLANDS US": "VI", "UNITED STATES VIRGIN ISLANDS": "VI",
	"VIRGIN ISLANDS OF THE UNITED STATES": "VI",
	"VIETNAM":                             "VN", "VIET NAM": "VN", "SOCIALIST REPUBLIC OF VIET NAM": "VN",
	"VANUATU": "VU", "REPUBLIC OF VANUATU": "VU",
	"WALLIS AND FUTUNA": "WF",
	"SAMOA":             "WS", "INDEPENDENT STATE OF SAMOA": "WS",
	"KOSOVO": "XK",
	"YEMEN":  "YE", "REPUBLIC OF YEMEN": "YE",
	"MAYOTTE":      "YT",
	"SOUTH AFRICA": "ZA", "REPUBLIC OF SOUTH AFRICA": "ZA",
	"ZAMBIA": "ZM", "REPUBLIC OF ZAMBIA": "ZM",
	"ZIMBABWE": "ZW", "REPUBLIC OF ZIMBABWE": "ZW",
}
