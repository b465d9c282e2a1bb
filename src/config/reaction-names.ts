/**
 * Slack's emoji names. A reaction event carries the canonical short name (`+1`, with
 * `::skin-tone-N` for a skin tone), never an alias such as `thumbsup`, so a config naming an alias
 * would never match. Slack's standard emoji come from iamcal/emoji-data: each emoji's first short
 * name is the canonical one, the others are aliases. This table is every alias in emoji-datasource
 * 16.0.0 (`emoji.json`, `short_names[1..]` → `short_name`); names not in it are canonical or a
 * workspace's custom emoji, which have no aliases.
 */
export const emojiAliases: Readonly<Record<string, string>> = {
  collision: 'boom',
  cooking: 'fried_egg',
  couple: 'man_and_woman_holding_hands',
  envelope: 'email',
  face_with_finger_covering_closed_lips: 'shushing_face',
  face_with_one_eyebrow_raised: 'face_with_raised_eyebrow',
  face_with_open_mouth_vomiting: 'face_vomiting',
  'flag-cn': 'cn',
  'flag-de': 'de',
  'flag-es': 'es',
  'flag-fr': 'fr',
  'flag-gb': 'gb',
  'flag-it': 'it',
  'flag-jp': 'jp',
  'flag-kr': 'kr',
  'flag-ru': 'ru',
  'flag-us': 'us',
  flipper: 'dolphin',
  grinning_face_with_one_large_and_one_small_eye: 'zany_face',
  grinning_face_with_star_eyes: 'star-struck',
  hand_with_index_and_middle_fingers_crossed: 'crossed_fingers',
  heavy_exclamation_mark: 'exclamation',
  honeybee: 'bee',
  knife: 'hocho',
  lady_beetle: 'ladybug',
  lantern: 'izakaya_lantern',
  lightning_cloud: 'lightning',
  'man-with-bunny-ears-partying': 'men-with-bunny-ears-partying',
  men_holding_hands: 'two_men_holding_hands',
  mother_christmas: 'mrs_claus',
  open_book: 'book',
  paw_prints: 'feet',
  pencil: 'memo',
  poop: 'hankey',
  punch: 'facepunch',
  raised_hand: 'hand',
  red_car: 'car',
  reversed_hand_with_middle_finger_extended: 'middle_finger',
  running: 'runner',
  sailboat: 'boat',
  satisfied: 'laughing',
  serious_face_with_symbols_covering_mouth: 'face_with_symbols_on_mouth',
  shit: 'hankey',
  shocked_face_with_exploding_head: 'exploding_head',
  shoe: 'mans_shoe',
  sign_of_the_horns: 'the_horns',
  smiling_face_with_smiling_eyes_and_hand_covering_mouth: 'face_with_hand_over_mouth',
  staff_of_aesculapius: 'medical_symbol',
  sun_behind_cloud: 'barely_sunny',
  sun_behind_rain_cloud: 'partly_sunny_rain',
  sun_small_cloud: 'mostly_sunny',
  telephone: 'phone',
  thumbsdown: '-1',
  thumbsup: '+1',
  tornado_cloud: 'tornado',
  tshirt: 'shirt',
  uk: 'gb',
  waxing_gibbous_moon: 'moon',
  woman_and_man_holding_hands: 'man_and_woman_holding_hands',
  'woman-with-bunny-ears-partying': 'women-with-bunny-ears-partying',
  women_holding_hands: 'two_women_holding_hands',
};

/** Why `name` is not a reaction name Slack sends, with the name to use instead; null when it is fine. */
export function reactionNameRefusal(name: string): string | null {
  const skinTone = /^(.+)::skin-tone-[2-6]$/.exec(name);
  if (skinTone) return `must be a reaction name without a skin tone: use "${skinTone[1]}" (every skin tone counts)`;
  const bare = name.replace(/^:(.*):$/, '$1');
  if (bare !== name) return `must be a reaction name without colons: use "${bare}"`;
  if (!/^[a-z0-9_+'-]+$/.test(name)) return 'must be a Slack reaction name: lower-case letters, digits, "_", "-", "+", "\'", e.g. white_check_mark';
  const canonical = emojiAliases[name];
  if (canonical !== undefined) return `"${name}" is an alias: Slack sends reactions by their canonical name, so use "${canonical}"`;
  return null;
}
