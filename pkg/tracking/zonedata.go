package tracking

// The zone tables InferZone falls back to when an event has no usable ZIP.
// Every name must load from the embedded tz database (zone_test.go checks).

// usStates maps a US state, district, territory or freely associated state
// (USPS two-letter code or folded name) to the zone most of its people
// live in. The split states read wrong for a minority: the ZIP table is
// what places El Paso or Pensacola correctly; this is the fallback.
var usStates = map[string]string{
	"AL": "America/Chicago", "ALABAMA": "America/Chicago",
	"AK": "America/Anchorage", "ALASKA": "America/Anchorage", // Nome, Adak: ZIP table
	"AZ": "America/Phoenix", "ARIZONA": "America/Phoenix", // no DST (the Navajo Nation's is in the ZIP table)
	"AR": "America/Chicago", "ARKANSAS": "America/Chicago",
	"CA": "America/Los_Angeles", "CALIFORNIA": "America/Los_Angeles",
	"CO": "America/Denver", "COLORADO": "America/Denver",
	"CT": "America/New_York", "CONNECTICUT": "America/New_York",
	"DE": "America/New_York", "DELAWARE": "America/New_York",
	"DC": "America/New_York", "DISTRICT OF COLUMBIA": "America/New_York", "WASHINGTON DC": "America/New_York",
	"FL": "America/New_York", "FLORIDA": "America/New_York", // the western panhandle is Central
	"GA": "America/New_York", "GEORGIA": "America/New_York",
	"HI": "Pacific/Honolulu", "HAWAII": "Pacific/Honolulu",
	"ID": "America/Boise", "IDAHO": "America/Boise", // the north is Pacific
	"IL": "America/Chicago", "ILLINOIS": "America/Chicago",
	"IN": "America/Indiana/Indianapolis", "INDIANA": "America/Indiana/Indianapolis", // the NW and SW corners are Central
	"IA": "America/Chicago", "IOWA": "America/Chicago",
	"KS": "America/Chicago", "KANSAS": "America/Chicago",
	"KY": "America/New_York", "KENTUCKY": "America/New_York", // the west is Central
	"LA": "America/Chicago", "LOUISIANA": "America/Chicago",
	"ME": "America/New_York", "MAINE": "America/New_York",
	"MD": "America/New_York", "MARYLAND": "America/New_York",
	"MA": "America/New_York", "MASSACHUSETTS": "America/New_York",
	"MI": "America/Detroit", "MICHIGAN": "America/Detroit", // four UP counties are Central
	"MN": "America/Chicago", "MINNESOTA": "America/Chicago",
	"MS": "America/Chicago", "MISSISSIPPI": "America/Chicago",
	"MO": "America/Chicago", "MISSOURI": "America/Chicago",
	"MT": "America/Denver", "MONTANA": "America/Denver",
	"NE": "America/Chicago", "NEBRASKA": "America/Chicago", // the panhandle is Mountain
	"NV": "America/Los_Angeles", "NEVADA": "America/Los_Angeles",
	"NH": "America/New_York", "NEW HAMPSHIRE": "America/New_York",
	"NJ": "America/New_York", "NEW JERSEY": "America/New_York",
	"NM": "America/Denver", "NEW MEXICO": "America/Denver",
	"NY": "America/New_York", "NEW YORK": "America/New_York",
	"NC": "America/New_York", "NORTH CAROLINA": "America/New_York",
	"ND": "America/Chicago", "NORTH DAKOTA": "America/Chicago", // the SW is Mountain
	"OH": "America/New_York", "OHIO": "America/New_York",
	"OK": "America/Chicago", "OKLAHOMA": "America/Chicago",
	"OR": "America/Los_Angeles", "OREGON": "America/Los_Angeles", // Malheur County is Mountain
	"PA": "America/New_York", "PENNSYLVANIA": "America/New_York",
	"RI": "America/New_York", "RHODE ISLAND": "America/New_York",
	"SC": "America/New_York", "SOUTH CAROLINA": "America/New_York",
	"SD": "America/Chicago", "SOUTH DAKOTA": "America/Chicago", // the west is Mountain
	"TN": "America/Chicago", "TENNESSEE": "America/Chicago", // Nashville and Memphis outweigh the East
	"TX": "America/Chicago", "TEXAS": "America/Chicago", // El Paso and Hudspeth are Mountain
	"UT": "America/Denver", "UTAH": "America/Denver",
	"VT": "America/New_York", "VERMONT": "America/New_York",
	"VA": "America/New_York", "VIRGINIA": "America/New_York",
	"WA": "America/Los_Angeles", "WASHINGTON": "America/Los_Angeles",
	"WV": "America/New_York", "WEST VIRGINIA": "America/New_York",
	"WI": "America/Chicago", "WISCONSIN": "America/Chicago",
	"WY": "America/Denver", "WYOMING": "America/Denver",

	"PR": "America/Puerto_Rico", "PUERTO RICO": "America/Puerto_Rico",
	"VI": "America/St_Thomas", "VIRGIN ISLANDS": "America/St_Thomas", "US VIRGIN ISLANDS": "America/St_Thomas",
	"GU": "Pacific/Guam", "GUAM": "Pacific/Guam",
	"AS": "Pacific/Pago_Pago", "AMERICAN SAMOA": "Pacific/Pago_Pago",
	"MP": "Pacific/Saipan", "NORTHERN MARIANA ISLANDS": "Pacific/Saipan",
	"FM": "Pacific/Chuuk", "MICRONESIA": "Pacific/Chuuk", "FEDERATED STATES OF MICRONESIA": "Pacific/Chuuk",
	"MH": "Pacific/Majuro", "MARSHALL ISLANDS": "Pacific/Majuro",
	"PW": "Pacific/Palau", "PALAU": "Pacific/Palau",

	// APO/FPO "states" name a region, not a place: the zone of the
	// region's largest postings, far closer than the US default.
	"AA": "America/New_York", "ARMED FORCES AMERICAS": "America/New_York", // Caribbean and Central America
	"AE": "Europe/Berlin", "ARMED FORCES EUROPE": "Europe/Berlin", // Germany hosts most of them
	"AP": "Asia/Tokyo", "ARMED FORCES PACIFIC": "Asia/Tokyo", // Japan and Korea, both UTC+9
}

// caProvinces maps Canadian provinces and territories (Canada Post code,
// the pre-2002 "PQ"/"NF", or folded English/French name) to their main zone.
var caProvinces = map[string]string{
	"AB": "America/Edmonton", "ALBERTA": "America/Edmonton",
	"BC": "America/Vancouver", "BRITISH COLUMBIA": "America/Vancouver", "COLOMBIE BRITANNIQUE": "America/Vancouver",
	"MB": "America/Winnipeg", "MANITOBA": "America/Winnipeg",
	"NB": "America/Moncton", "NEW BRUNSWICK": "America/Moncton", "NOUVEAU BRUNSWICK": "America/Moncton",
	"NL": "America/St_Johns", "NF": "America/St_Johns", "NEWFOUNDLAND AND LABRADOR": "America/St_Johns", "NEWFOUNDLAND": "America/St_Johns",
	"NS": "America/Halifax", "NOVA SCOTIA": "America/Halifax", "NOUVELLE ECOSSE": "America/Halifax",
	"NT": "America/Edmonton", "NORTHWEST TERRITORIES": "America/Edmonton", // Yellowknife keeps Mountain time
	"NU": "America/Iqaluit", "NUNAVUT": "America/Iqaluit", // spans three zones; Iqaluit is the capital
	"ON": "America/Toronto", "ONTARIO": "America/Toronto",
	"PE": "America/Halifax", "PRINCE EDWARD ISLAND": "America/Halifax", "ILE DU PRINCE EDOUARD": "America/Halifax",
	"QC": "America/Toronto", "PQ": "America/Toronto", "QUEBEC": "America/Toronto",
	"SK": "America/Regina", "SASKATCHEWAN": "America/Regina",
	"YT": "America/Whitehorse", "YUKON": "America/Whitehorse", "YUKON TERRITORY": "America/Whitehorse",
}

// caPostalZones maps the first letter of a Canadian postal code (its
// province) to the province's zone. Nunavut and the Northwest Territories
// share "X"; caPostalZone splits them by the first three characters.
var caPostalZones = [26]string{
	'A' - 'A': "America/St_Johns", // NL
	'B' - 'A': "America/Halifax",  // NS
	'C' - 'A': "America/Halifax",  // PE
	'E' - 'A': "America/Moncton",  // NB
	'G' - 'A': "America/Toronto",  // QC
	'H' - 'A': "America/Toronto",
	'J' - 'A': "America/Toronto",
	'K' - 'A': "America/Toronto", // ON
	'L' - 'A': "America/Toronto",
	'M' - 'A': "America/Toronto",
	'N' - 'A': "America/Toronto",
	'P' - 'A': "America/Toronto",
	'R' - 'A': "America/Winnipeg",   // MB
	'S' - 'A': "America/Regina",     // SK
	'T' - 'A': "America/Edmonton",   // AB
	'V' - 'A': "America/Vancouver",  // BC
	'X' - 'A': "America/Edmonton",   // NT (X0A, X0B, X0C are Nunavut)
	'Y' - 'A': "America/Whitehorse", // YT
}

// mxStates maps Mexican states (ISO 3166-2:MX code without "MX-", or
// folded name) to their zone. Since 2022 most of Mexico keeps no DST; the
// IANA zones carry that, and the border strip's US-style DST.
var mxStates = map[string]string{
	"AGU": "America/Mexico_City", "AGUASCALIENTES": "America/Mexico_City",
	"BCN": "America/Tijuana", "BAJA CALIFORNIA": "America/Tijuana",
	"BCS": "America/Mazatlan", "BAJA CALIFORNIA SUR": "America/Mazatlan",
	"CAM": "America/Merida", "CAMPECHE": "America/Merida",
	"CHP": "America/Mexico_City", "CHIAPAS": "America/Mexico_City",
	"CHH": "America/Chihuahua", "CHIHUAHUA": "America/Chihuahua", // Ciudad Juárez keeps US DST
	"CMX": "America/Mexico_City", "CDMX": "America/Mexico_City", "DF": "America/Mexico_City",
	"CIUDAD DE MEXICO": "America/Mexico_City", "MEXICO CITY": "America/Mexico_City", "DISTRITO FEDERAL": "America/Mexico_City",
	"COA": "America/Monterrey", "COAHUILA": "America/Monterrey", "COAHUILA DE ZARAGOZA": "America/Monterrey",
	"COL": "America/Mexico_City", "COLIMA": "America/Mexico_City",
	"DUR": "America/Monterrey", "DURANGO": "America/Monterrey",
	"GUA": "America/Mexico_City", "GUANAJUATO": "America/Mexico_City",
	"GRO": "America/Mexico_City", "GUERRERO": "America/Mexico_City",
	"HID": "America/Mexico_City", "HIDALGO": "America/Mexico_City",
	"JAL": "America/Mexico_City", "JALISCO": "America/Mexico_City",
	"MEX": "America/Mexico_City", "MEXICO": "America/Mexico_City", "ESTADO DE MEXICO": "America/Mexico_City", "EDOMEX": "America/Mexico_City",
	"MIC": "America/Mexico_City", "MICHOACAN": "America/Mexico_City", "MICHOACAN DE OCAMPO": "America/Mexico_City",
	"MOR": "America/Mexico_City", "MORELOS": "America/Mexico_City",
	"NAY": "America/Mazatlan", "NAYARIT": "America/Mazatlan", // Bahía de Banderas is Central
	"NLE": "America/Monterrey", "NUEVO LEON": "America/Monterrey",
	"OAX": "America/Mexico_City", "OAXACA": "America/Mexico_City",
	"PUE": "America/Mexico_City", "PUEBLA": "America/Mexico_City",
	"QUE": "America/Mexico_City", "QUERETARO": "America/Mexico_City",
	"ROO": "America/Cancun", "QUINTANA ROO": "America/Cancun",
	"SLP": "America/Mexico_City", "SAN LUIS POTOSI": "America/Mexico_City",
	"SIN": "America/Mazatlan", "SINALOA": "America/Mazatlan",
	"SON": "America/Hermosillo", "SONORA": "America/Hermosillo",
	"TAB": "America/Mexico_City", "TABASCO": "America/Mexico_City",
	"TAM": "America/Monterrey", "TAMAULIPAS": "America/Monterrey", // the border keeps US DST (Matamoros)
	"TLA": "America/Mexico_City", "TLAXCALA": "America/Mexico_City",
	"VER": "America/Mexico_City", "VERACRUZ": "America/Mexico_City", "VERACRUZ DE IGNACIO DE LA LLAVE": "America/Mexico_City",
	"YUC": "America/Merida", "YUCATAN": "America/Merida",
	"ZAC": "America/Mexico_City", "ZACATECAS": "America/Mexico_City",
}

// auStates maps Australian states and territories (abbreviation or folded
// name) to their zone.
var auStates = map[string]string{
	"NSW": "Australia/Sydney", "NEW SOUTH WALES": "Australia/Sydney", // Broken Hill is on Adelaide time
	"ACT": "Australia/Sydney", "AUSTRALIAN CAPITAL TERRITORY": "Australia/Sydney",
	"VIC": "Australia/Melbourne", "VICTORIA": "Australia/Melbourne",
	"QLD": "Australia/Brisbane", "QUEENSLAND": "Australia/Brisbane",
	"SA": "Australia/Adelaide", "SOUTH AUSTRALIA": "Australia/Adelaide",
	"WA": "Australia/Perth", "WESTERN AUSTRALIA": "Australia/Perth",
	"TAS": "Australia/Hobart", "TASMANIA": "Australia/Hobart",
	"NT": "Australia/Darwin", "NORTHERN TERRITORY": "Australia/Darwin",
}

// countryZones maps ISO 3166-1 alpha-2 to the zone of a country, for an
// event whose ZIP and state say nothing: every assigned code with people
// (from the tz database's zone.tab; Antarctica, Bouvet and Heard Island
// left out) plus Kosovo's "XK". A single-zone country maps to its zone; a
// multi-zone one to the zone most of its people live in, with the reason.
//
// The US is the exception. A US event without a usable ZIP or state is
// placed on Central time (America/Chicago), not Eastern, the most populous:
// the contiguous states span UTC-5 to UTC-8, so Central is at most two
// hours off (Pacific) where Eastern would be three, and with roughly 47%
// of the people on Eastern, 29% Central, 7% Mountain and 17% Pacific it is
// also the smaller mean error (about 0.88 h against 0.94 h). The event says
// timezone_source "country", so a consumer can tell it from a ZIP placement.
var countryZones = map[string]string{
	"AD": "Europe/Andorra", "AE": "Asia/Dubai", "AF": "Asia/Kabul",
	"AG": "America/Antigua", "AI": "America/Anguilla", "AL": "Europe/Tirane",
	"AM": "Asia/Yerevan", "AO": "Africa/Luanda",
	"AR": "America/Argentina/Buenos_Aires", // Buenos Aires province and city: most of the people
	"AS": "Pacific/Pago_Pago", "AT": "Europe/Vienna",
	"AU": "Australia/Sydney", // New South Wales and Victoria (UTC+10/+11): most of the people
	"AW": "America/Aruba", "AX": "Europe/Mariehamn", "AZ": "Asia/Baku",
	"BA": "Europe/Sarajevo", "BB": "America/Barbados", "BD": "Asia/Dhaka",
	"BE": "Europe/Brussels", "BF": "Africa/Ouagadougou", "BG": "Europe/Sofia",
	"BH": "Asia/Bahrain", "BI": "Africa/Bujumbura", "BJ": "Africa/Porto-Novo",
	"BL": "America/St_Barthelemy", "BM": "Atlantic/Bermuda", "BN": "Asia/Brunei",
	"BO": "America/La_Paz", "BQ": "America/Kralendijk",
	"BR": "America/Sao_Paulo", // Brasília time (UTC-3): most of the people
	"BS": "America/Nassau", "BT": "Asia/Thimphu", "BW": "Africa/Gaborone",
	"BY": "Europe/Minsk", "BZ": "America/Belize",
	"CA": "America/Toronto", // Ontario and Quebec (Eastern): ~60% of the people
	"CC": "Indian/Cocos",
	"CD": "Africa/Kinshasa", // the capital and main port of entry (West, UTC+1)
	"CF": "Africa/Bangui", "CG": "Africa/Brazzaville", "CH": "Europe/Zurich",
	"CI": "Africa/Abidjan", "CK": "Pacific/Rarotonga",
	"CL": "America/Santiago", // continental Chile
	"CM": "Africa/Douala",
	"CN": "Asia/Shanghai", // one official time for the whole country
	"CO": "America/Bogota", "CR": "America/Costa_Rica", "CU": "America/Havana",
	"CV": "Atlantic/Cape_Verde", "CW": "America/Curacao", "CX": "Indian/Christmas",
	"CY": "Asia/Nicosia", // the Republic (south)
	"CZ": "Europe/Prague",
	"DE": "Europe/Berlin", // Büsingen is a 1,500-person exclave
	"DJ": "Africa/Djibouti", "DK": "Europe/Copenhagen", "DM": "America/Dominica",
	"DO": "America/Santo_Domingo", "DZ": "Africa/Algiers",
	"EC": "America/Guayaquil", // the mainland, not Galápagos
	"EE": "Europe/Tallinn", "EG": "Africa/Cairo", "EH": "Africa/El_Aaiun",
	"ER": "Africa/Asmara",
	"ES": "Europe/Madrid", // the mainland, not the Canaries
	"ET": "Africa/Addis_Ababa", "FI": "Europe/Helsinki", "FJ": "Pacific/Fiji",
	"FK": "Atlantic/Stanley",
	"FM": "Pacific/Chuuk", // Chuuk, the most populous state (ZIP 96942)
	"FO": "Atlantic/Faroe", "FR": "Europe/Paris", "GA": "Africa/Libreville",
	"GB": "Europe/London", "GD": "America/Grenada", "GE": "Asia/Tbilisi",
	"GF": "America/Cayenne", "GG": "Europe/Guernsey", "GH": "Africa/Accra",
	"GI": "Europe/Gibraltar",
	"GL": "America/Nuuk", // Nuuk, the capital
	"GM": "Africa/Banjul", "GN": "Africa/Conakry", "GP": "America/Guadeloupe",
	"GQ": "Africa/Malabo", "GR": "Europe/Athens", "GS": "Atlantic/South_Georgia",
	"GT": "America/Guatemala", "GU": "Pacific/Guam", "GW": "Africa/Bissau",
	"GY": "America/Guyana", "HK": "Asia/Hong_Kong", "HN": "America/Tegucigalpa",
	"HR": "Europe/Zagreb", "HT": "America/Port-au-Prince", "HU": "Europe/Budapest",
	"ID": "Asia/Jakarta", // Western Indonesia time (Java, Sumatra): most of the people
	"IE": "Europe/Dublin", "IL": "Asia/Jerusalem", "IM": "Europe/Isle_of_Man",
	"IN": "Asia/Kolkata", "IO": "Indian/Chagos", "IQ": "Asia/Baghdad",
	"IR": "Asia/Tehran", "IS": "Atlantic/Reykjavik", "IT": "Europe/Rome",
	"JE": "Europe/Jersey", "JM": "America/Jamaica", "JO": "Asia/Amman",
	"JP": "Asia/Tokyo", "KE": "Africa/Nairobi", "KG": "Asia/Bishkek",
	"KH": "Asia/Phnom_Penh",
	"KI": "Pacific/Tarawa", // the Gilbert Islands: most of the people
	"KM": "Indian/Comoro", "KN": "America/St_Kitts", "KP": "Asia/Pyongyang",
	"KR": "Asia/Seoul", "KW": "Asia/Kuwait", "KY": "America/Cayman",
	"KZ": "Asia/Almaty", // the whole country has been UTC+5 since March 2024
	"LA": "Asia/Vientiane", "LB": "Asia/Beirut", "LC": "America/St_Lucia",
	"LI": "Europe/Vaduz", "LK": "Asia/Colombo", "LR": "Africa/Monrovia",
	"LS": "Africa/Maseru", "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg",
	"LV": "Europe/Riga", "LY": "Africa/Tripoli", "MA": "Africa/Casablanca",
	"MC": "Europe/Monaco", "MD": "Europe/Chisinau", "ME": "Europe/Podgorica",
	"MF": "America/Marigot", "MG": "Indian/Antananarivo",
	"MH": "Pacific/Majuro", // Majuro, the capital
	"MK": "Europe/Skopje", "ML": "Africa/Bamako", "MM": "Asia/Yangon",
	"MN": "Asia/Ulaanbaatar", // Ulaanbaatar: most of the country
	"MO": "Asia/Macau", "MP": "Pacific/Saipan", "MQ": "America/Martinique",
	"MR": "Africa/Nouakchott", "MS": "America/Montserrat", "MT": "Europe/Malta",
	"MU": "Indian/Mauritius", "MV": "Indian/Maldives", "MW": "Africa/Blantyre",
	"MX": "America/Mexico_City", // Central time: most of the people
	"MY": "Asia/Kuala_Lumpur",   // Peninsular Malaysia: most of the people
	"MZ": "Africa/Maputo", "NA": "Africa/Windhoek", "NC": "Pacific/Noumea",
	"NE": "Africa/Niamey", "NF": "Pacific/Norfolk", "NG": "Africa/Lagos",
	"NI": "America/Managua", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo",
	"NP": "Asia/Kathmandu", "NR": "Pacific/Nauru", "NU": "Pacific/Niue",
	"NZ": "Pacific/Auckland", // the mainland, not the Chathams
	"OM": "Asia/Muscat", "PA": "America/Panama", "PE": "America/Lima",
	"PF": "Pacific/Tahiti",       // Tahiti and the Society Islands
	"PG": "Pacific/Port_Moresby", // the mainland, not Bougainville
	"PH": "Asia/Manila", "PK": "Asia/Karachi", "PL": "Europe/Warsaw",
	"PM": "America/Miquelon", "PN": "Pacific/Pitcairn", "PR": "America/Puerto_Rico",
	"PS": "Asia/Hebron",   // the West Bank, the larger population
	"PT": "Europe/Lisbon", // the mainland, not Madeira or the Azores
	"PW": "Pacific/Palau", "PY": "America/Asuncion", "QA": "Asia/Qatar",
	"RE": "Indian/Reunion", "RO": "Europe/Bucharest", "RS": "Europe/Belgrade",
	"RU": "Europe/Moscow", // Moscow time: most of European Russia and of the people
	"RW": "Africa/Kigali", "SA": "Asia/Riyadh", "SB": "Pacific/Guadalcanal",
	"SC": "Indian/Mahe", "SD": "Africa/Khartoum", "SE": "Europe/Stockholm",
	"SG": "Asia/Singapore", "SH": "Atlantic/St_Helena", "SI": "Europe/Ljubljana",
	"SJ": "Arctic/Longyearbyen", "SK": "Europe/Bratislava", "SL": "Africa/Freetown",
	"SM": "Europe/San_Marino", "SN": "Africa/Dakar", "SO": "Africa/Mogadishu",
	"SR": "America/Paramaribo", "SS": "Africa/Juba", "ST": "Africa/Sao_Tome",
	"SV": "America/El_Salvador", "SX": "America/Lower_Princes", "SY": "Asia/Damascus",
	"SZ": "Africa/Mbabane", "TC": "America/Grand_Turk", "TD": "Africa/Ndjamena",
	"TF": "Indian/Kerguelen", "TG": "Africa/Lome", "TH": "Asia/Bangkok",
	"TJ": "Asia/Dushanbe", "TK": "Pacific/Fakaofo", "TL": "Asia/Dili",
	"TM": "Asia/Ashgabat", "TN": "Africa/Tunis", "TO": "Pacific/Tongatapu",
	"TR": "Europe/Istanbul", "TT": "America/Port_of_Spain", "TV": "Pacific/Funafuti",
	"TW": "Asia/Taipei", "TZ": "Africa/Dar_es_Salaam",
	"UA": "Europe/Kyiv", // Kyiv time; the tz database lists Crimea apart
	"UG": "Africa/Kampala",
	"UM": "Pacific/Wake",    // Wake Island, the only one with a US ZIP
	"US": "America/Chicago", // see countryZones: minimises the worst and the mean error
	"UY": "America/Montevideo",
	"UZ": "Asia/Tashkent", // Tashkent, the capital and largest region
	"VA": "Europe/Vatican", "VC": "America/St_Vincent", "VE": "America/Caracas",
	"VG": "America/Tortola", "VI": "America/St_Thomas", "VN": "Asia/Ho_Chi_Minh",
	"VU": "Pacific/Efate", "WF": "Pacific/Wallis", "WS": "Pacific/Apia",
	"XK": "Europe/Belgrade", "YE": "Asia/Aden", "YT": "Indian/Mayotte",
	"ZA": "Africa/Johannesburg", "ZM": "Africa/Lusaka", "ZW": "Africa/Harare",
}
